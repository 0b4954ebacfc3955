import { SUPPRESSED } from '../cells.js';
import type { Anonymised } from './anonymise.js';

/**
 * The summary in words: one line per released field with what it holds (`age: 10-year bands`,
 * `sex: full`), then `rows suppressed: 3 of 330`, the k-anonymity decision and the information loss.
 * Field names and counts only, never a value.
 */
export function releaseNotes(fields: readonly string[], anonymised: Anonymised, rows: number): string[] {
  const notes = fields.map((name) => `${name}: ${anonymised.holds[name] ?? 'full'}`);
  const k = anonymised.kAnonymity;
  if (k !== undefined) {
    notes.push(`rows suppressed: ${k.suppressedRows} of ${rows}`);
    switch (k.outcome) {
      case 'k-anonymous':
        notes.push(
          `k-anonymity (k = ${k.k}) holds: every combination of ${k.quasiIdentifiers.map((q) => `"${q}"`).join(', ')} is shared by at least ${k.k} records; suppressed rows show "${SUPPRESSED}"`,
        );
        break;
      case 'over-suppression-limit':
        notes.push(`k-anonymity (k = ${k.k}) needed ${k.suppressedRows} rows suppressed ("${SUPPRESSED}"), more than the limit of ${k.suppressionLimit}`);
        break;
      case 'no-quasi-identifiers':
        notes.push('k-anonymity: the output shows no quasi-identifier');
        break;
    }
  }
  const loss = Object.entries(anonymised.informationLoss.fields);
  if (loss.length > 0) notes.push(`information loss (NCP): ${loss.map(([f, x]) => `${f} ${x}`).join(', ')}; overall ${anonymised.informationLoss.overall}`);
  return notes;
}
