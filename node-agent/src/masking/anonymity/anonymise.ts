import { rawValue, SUPPRESSED, type Cell } from '../cells.js';
import type { FieldPlan } from '../plan.js';
import { generalizationOf, type GeneralizeContext } from '../transforms/generalize.js';
import { buildHierarchy, fieldLoss, type Hierarchy } from './hierarchy.js';
import { hierarchyOf, shownLabelOf } from './hierarchies.js';
import { searchLevels } from './search.js';

/** Default share of rows that may be suppressed to reach k-anonymity (ARX's and sdcMicro's usual 5%). */
export const DEFAULT_SUPPRESSION_LIMIT = 0.05;

/**
 * The decision of the k-anonymity step, as a stable code:
 * - `k-anonymous`: every class of released quasi-identifiers has at least k rows, with at most the
 *   suppression limit's rows suppressed;
 * - `over-suppression-limit`: no generalisation gets there within the limit (for example fewer than
 *   k rows in all): the fewest rows possible were suppressed, more than the limit;
 * - `no-quasi-identifiers`: the output shows no quasi-identifier, nothing to do.
 */
export type KAnonymityOutcome = 'k-anonymous' | 'over-suppression-limit' | 'no-quasi-identifiers';

export interface KAnonymitySummary {
  readonly k: number;
  /** Rows the suppression limit allows (the policy's share of the rows, rounded down). */
  readonly suppressionLimit: number;
  readonly suppressedRows: number;
  readonly outcome: KAnonymityOutcome;
  readonly strategy: 'lattice' | 'greedy' | 'none';
  readonly quasiIdentifiers: readonly string[];
  /** Equivalence classes among the rows not suppressed. */
  readonly equivalenceClasses: number;
}

export interface InformationLoss {
  /** Normalised certainty penalty per quasi-identifier: 0 the exact values, 1 nothing left. */
  readonly fields: Readonly<Record<string, number>>;
  /** Their mean. */
  readonly overall: number;
}

export interface Anonymised {
  /** What each shown field holds: "full", "pseudonym", "10-year bands", "ZIP3", "year"... */
  readonly holds: Readonly<Record<string, string>>;
  readonly informationLoss: InformationLoss;
  /** Absent when k-anonymity was not asked for (roles other than researcher, or the policy turned it off). */
  readonly kAnonymity?: KAnonymitySummary;
}

export interface AnonymiseOptions {
  /** Generalise the quasi-identifiers until k-anonymity holds (researchers). */
  readonly enforce: boolean;
  readonly k: number;
  /** Share of rows that may be suppressed, 0..1. */
  readonly suppressionLimit: number;
  readonly noisePreview: boolean;
  readonly contextOf: (plan: FieldPlan) => GeneralizeContext;
}

/**
 * Generalises before it suppresses: builds each shown quasi-identifier's hierarchy, finds the levels
 * at which k-anonymity holds (search.ts), rewrites `masked` in place with those levels' cells and
 * `*` for the quasi-identifiers of the rows still in too-small classes, and says what the output
 * holds and how much it lost (NCP).
 */
export function anonymise(
  rows: readonly Readonly<Record<string, unknown>>[],
  masked: Record<string, Cell>[],
  shown: readonly FieldPlan[],
  options: AnonymiseOptions,
): Anonymised {
  const quasi = shown.filter(isQuasiIdentifier);
  const hierarchies = quasi.map((p): Hierarchy => {
    const kind = hierarchyOf(p, options.contextOf(p));
    const name = p.field.name;
    return buildHierarchy(name, rows.map((r) => rawValue(r[name])), masked.map((m) => m[name] ?? null), kind.specs, kind.scale);
  });
  let levels = hierarchies.map(() => 0);
  let suppressed = rows.map(() => false);
  let kAnonymity: KAnonymitySummary | undefined;
  if (options.enforce) {
    const limit = Math.floor(options.suppressionLimit * rows.length);
    const base = { k: options.k, suppressionLimit: limit, quasiIdentifiers: quasi.map((p) => p.field.name) };
    if (hierarchies.length === 0) {
      kAnonymity = { ...base, suppressedRows: 0, outcome: 'no-quasi-identifiers', strategy: 'none', equivalenceClasses: 0 };
    } else {
      const found = searchLevels(hierarchies, rows.length, options.k, limit);
      levels = [...found.levels];
      suppressed = [...found.suppressed];
      kAnonymity = {
        ...base,
        suppressedRows: found.suppressedCount,
        outcome: found.withinLimit ? 'k-anonymous' : 'over-suppression-limit',
        strategy: found.strategy,
        equivalenceClasses: found.classes,
      };
      hierarchies.forEach((h, i) => {
        const cells = (h.levels[levels[i] as number] as Hierarchy['levels'][number]).cells;
        masked.forEach((m, row) => {
          const cell = cells[row] ?? null;
          m[h.field] = suppressed[row] === true && cell !== null ? SUPPRESSED : cell;
        });
      });
    }
  }
  const holds: Record<string, string> = {};
  for (const p of shown) holds[p.field.name] = p.transform === 'generalize' ? (hierarchyOf(p, options.contextOf(p)).specs[0]?.label ?? 'generalised') : shownLabelOf(p.transform, options.noisePreview);
  const fields: Record<string, number> = {};
  hierarchies.forEach((h, i) => {
    holds[h.field] = h.levels[levels[i] as number]?.label ?? holds[h.field] ?? 'full';
    fields[h.field] = round(fieldLoss(h, levels[i] as number, suppressed));
  });
  const values = Object.values(fields);
  const overall = values.length === 0 ? 0 : round(values.reduce((s, x) => s + x, 0) / values.length);
  return { holds, informationLoss: { fields, overall }, ...(kAnonymity === undefined ? {} : { kAnonymity }) };
}

/** Quasi-identifiers that the output shows with a value (noised values are protected by their noise). */
function isQuasiIdentifier(p: FieldPlan): boolean {
  if (p.field.class !== 'quasi-identifier' || p.transform === 'noise' || p.transform === 'redact') return false;
  return !(p.transform === 'generalize' && generalizationOf(p.field) === 'suppress');
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
