import type { AuditEntry, HashOnlyEntry } from '../event.js';
import { canonicalJson } from '../jcs.js';

/**
 * events.csv: the same entries as events.ndjson for spreadsheet reading. NDJSON is authoritative;
 * the CSV is listed in the signed manifest so it cannot drift unnoticed.
 */
export const AUDIT_CSV_COLUMNS = [
  'seq', 'time', 'actor', 'role', 'site', 'action', 'resource', 'outcome', 'request_id', 'rule', 'details', 'prev_hash', 'hash', 'content',
] as const;

function cell(value: string): string {
  // A leading = + - @ would be a formula in spreadsheet programs; a quote mark disarms it.
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function auditCsvHeader(): string {
  return `${AUDIT_CSV_COLUMNS.join(',')}\r\n`;
}

/** `detailsJcs`: the details' JCS when the caller already has it (cut from the stored event text). */
export function auditCsvRow(entry: AuditEntry | HashOnlyEntry, detailsJcs?: string | null): string {
  if (!('action' in entry)) {
    return `${[String(entry.seq), '', '', '', '', '', '', '', '', '', '', entry.prev_hash, entry.hash, 'hash-only'].join(',')}\r\n`;
  }
  const e = entry;
  return `${[
    String(e.seq), e.time, e.actor, e.role, e.site ?? '', e.action, e.resource, e.outcome, e.request_id ?? '', e.rule,
    detailsJcs ?? canonicalJson(e.details), e.prev_hash, e.hash, 'full',
  ].map(cell).join(',')}\r\n`;
}
