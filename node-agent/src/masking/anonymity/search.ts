import { fieldLoss, type Hierarchy } from './hierarchy.js';

/**
 * Finds the generalisation levels of the quasi-identifiers at which every equivalence class (rows
 * with equal quasi-identifier cells) has at least k rows, except rows suppressed within the limit.
 *
 * Lattice search (the default, as ARX's optimal search): every combination of levels is tried;
 * among those within the suppression limit wins the one that removes the fewest quasi-identifiers
 * altogether (their "*" level: suppressing a column is suppression too, the last resort), then the
 * one with the least information loss (mean NCP over the quasi-identifiers, suppressed rows costing
 * 1), then the lowest levels. When the
 * lattice is too large to try in full (rows x nodes over SEARCH_WORK_LIMIT), a greedy climb (as
 * sdcMicro's): from the lowest levels, raise the quasi-identifier with the most distinct values
 * until the classes hold. When no combination is within the limit, the one suppressing fewest rows.
 */
export interface SearchResult {
  /** The chosen level of each hierarchy. */
  readonly levels: readonly number[];
  /** Rows in classes smaller than k. */
  readonly suppressed: readonly boolean[];
  readonly suppressedCount: number;
  readonly withinLimit: boolean;
  readonly strategy: 'lattice' | 'greedy';
  /** Equivalence classes among the rows not suppressed. */
  readonly classes: number;
}

export const SEARCH_WORK_LIMIT = 5_000_000;

interface Evaluation {
  readonly levels: number[];
  /** Quasi-identifiers at their "*" level. */
  readonly removed: number;
  readonly suppressed: boolean[];
  readonly suppressedCount: number;
  readonly loss: number;
  readonly classes: number;
}

export function searchLevels(hierarchies: readonly Hierarchy[], rows: number, k: number, maxSuppressed: number, workLimit = SEARCH_WORK_LIMIT): SearchResult {
  const codes = hierarchies.map((h) => h.levels.map((level) => encode(level.cells)));
  const nodes = hierarchies.reduce((n, h) => n * h.levels.length, 1);
  const evaluate = (levels: number[]): Evaluation => evaluateNode(hierarchies, codes, levels, rows, k);
  if (nodes * Math.max(1, rows) <= workLimit) {
    let best: Evaluation | undefined;
    let fewest: Evaluation | undefined;
    for (const levels of lattice(hierarchies.map((h) => h.levels.length))) {
      const e = evaluate(levels);
      if (e.suppressedCount <= maxSuppressed && (best === undefined || better(e, best))) best = e;
      if (fewest === undefined || e.suppressedCount < fewest.suppressedCount || (e.suppressedCount === fewest.suppressedCount && better(e, fewest))) fewest = e;
    }
    const chosen = (best ?? fewest) as Evaluation;
    return result(chosen, best !== undefined, 'lattice');
  }
  const levels = hierarchies.map(() => 0);
  for (;;) {
    const e = evaluate(levels);
    const movable = hierarchies.map((h, i) => i).filter((i) => (levels[i] as number) < (hierarchies[i] as Hierarchy).levels.length - 1);
    if (e.suppressedCount <= maxSuppressed || movable.length === 0) return result(e, e.suppressedCount <= maxSuppressed, 'greedy');
    const distinct = (i: number) => new Set((codes[i] as Int32Array[])[levels[i] as number]).size;
    const widest = movable.reduce((a, b) => (distinct(b) > distinct(a) ? b : a));
    levels[widest] = (levels[widest] as number) + 1;
  }
}

function result(e: Evaluation, withinLimit: boolean, strategy: 'lattice' | 'greedy'): SearchResult {
  return { levels: e.levels, suppressed: e.suppressed, suppressedCount: e.suppressedCount, withinLimit, strategy, classes: e.classes };
}

function better(a: Evaluation, b: Evaluation): boolean {
  if (a.removed !== b.removed) return a.removed < b.removed;
  if (Math.abs(a.loss - b.loss) > 1e-12) return a.loss < b.loss;
  return height(a.levels) < height(b.levels);
}

function height(levels: readonly number[]): number {
  return levels.reduce((s, l) => s + l, 0);
}

/** Every combination of levels, lowest total height first. */
function* lattice(sizes: readonly number[]): Generator<number[]> {
  const max = sizes.reduce((s, n) => s + n - 1, 0);
  for (let total = 0; total <= max; total++) yield* withHeight(sizes, 0, total);
}

function* withHeight(sizes: readonly number[], from: number, total: number): Generator<number[]> {
  if (from === sizes.length) {
    if (total === 0) yield [];
    return;
  }
  for (let l = 0; l <= Math.min(total, (sizes[from] as number) - 1); l++) {
    for (const rest of withHeight(sizes, from + 1, total - l)) yield [l, ...rest];
  }
}

/** Small integer codes for the cells of one level (null is a value of its own). */
function encode(cells: readonly unknown[]): Int32Array {
  const ids = new Map<string, number>();
  const out = new Int32Array(cells.length);
  cells.forEach((c, row) => {
    const key = JSON.stringify(c);
    let id = ids.get(key);
    if (id === undefined) {
      id = ids.size;
      ids.set(key, id);
    }
    out[row] = id;
  });
  return out;
}

function evaluateNode(hierarchies: readonly Hierarchy[], codes: readonly Int32Array[][], levels: number[], rows: number, k: number): Evaluation {
  const columns = levels.map((l, i) => (codes[i] as Int32Array[])[l] as Int32Array);
  const keys: string[] = new Array<string>(rows);
  const counts = new Map<string, number>();
  for (let row = 0; row < rows; row++) {
    let key = '';
    for (const column of columns) key += `${column[row]},`;
    keys[row] = key;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const suppressed = keys.map((key) => (counts.get(key) as number) < k);
  const suppressedCount = suppressed.filter(Boolean).length;
  const loss = hierarchies.length === 0 ? 0 : hierarchies.reduce((s, h, i) => s + fieldLoss(h, levels[i] as number, suppressed), 0) / hierarchies.length;
  let classes = 0;
  for (const n of counts.values()) if (n >= k) classes++;
  const removed = levels.filter((l, i) => l === (hierarchies[i] as Hierarchy).levels.length - 1).length;
  return { levels: [...levels], removed, suppressed, suppressedCount, loss, classes };
}
