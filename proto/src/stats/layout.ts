import type { StatsQuery } from './query.js';

/**
 * The vector every site sends for a query, fixed by the query alone. One block per group cell
 * (the cartesian product of the declared categories, first groupBy field varying slowest); each
 * block is `count`, then per aggregated field `n` (rows with a value), `sum` and `sumsq` (when
 * asked) in fixed point, and the histogram counts (when asked). All entries are integers.
 */
export interface FieldSlots {
  readonly field: string;
  readonly n: number;
  readonly sum: number | null;
  readonly sumsq: number | null;
  /** Offset of the first histogram bin, or null. */
  readonly hist: number | null;
  readonly bins: number;
}

export interface StatsLayout {
  /** One entry per cell: groupBy field -> category. */
  readonly cells: readonly Readonly<Record<string, string>>[];
  /** Values per cell. */
  readonly block: number;
  /** Offsets inside a block. */
  readonly count: 0;
  readonly fields: readonly FieldSlots[];
  /** Total number of values. */
  readonly length: number;
  /** Fixed-point scale of sums: 10^decimals (sum of squares: scale^2). */
  readonly scale: number;
}

export function statsLayout(q: StatsQuery): StatsLayout {
  const sums = q.statistics.some((s) => s === 'sum' || s === 'mean' || s === 'variance');
  const squares = q.statistics.includes('variance');
  const hist = q.statistics.some((s) => s === 'histogram' || s === 'quantiles');
  let at = 1;
  const fields = q.fields.map((f): FieldSlots => {
    const n = at++;
    const sum = sums ? at++ : null;
    const sumsq = squares ? at++ : null;
    const h = hist ? at : null;
    if (hist) at += f.bins;
    return { field: f.name, n, sum, sumsq, hist: h, bins: f.bins };
  });
  const cells = groupCells(q);
  return { cells, block: at, count: 0, fields, length: cells.length * at, scale: 10 ** q.decimals };
}

/** Every group cell, in layout order (one empty cell without groupBy). */
export function groupCells(q: Pick<StatsQuery, 'groupBy'>): Record<string, string>[] {
  let cells: Record<string, string>[] = [{}];
  for (const g of q.groupBy) cells = cells.flatMap((c) => g.categories.map((cat) => ({ ...c, [g.field]: cat })));
  return cells;
}

/** The index of a row's cell, or -1 when a grouping value is not a declared category. */
export function cellIndex(q: Pick<StatsQuery, 'groupBy'>, values: readonly (string | null)[]): number {
  let index = 0;
  for (let i = 0; i < q.groupBy.length; i++) {
    const g = q.groupBy[i]!;
    const v = values[i];
    const c = v === null || v === undefined ? -1 : g.categories.indexOf(v);
    if (c < 0) return -1;
    index = index * g.categories.length + c;
  }
  return index;
}

/** Fixed-point value of x clamped to the field's range: round(clamp(x) * scale). */
export function fixedPoint(x: number, lower: number, upper: number, scale: number): bigint {
  return BigInt(Math.round(Math.min(upper, Math.max(lower, x)) * scale));
}

/** The histogram bin of x (clamped first; the upper bound falls in the last bin). */
export function binOf(x: number, lower: number, upper: number, bins: number): number {
  const c = Math.min(upper, Math.max(lower, x));
  return Math.min(bins - 1, Math.floor(((c - lower) / (upper - lower)) * bins));
}
