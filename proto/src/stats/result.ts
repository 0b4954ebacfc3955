import type { StatsLayout } from './layout.js';
import { noiseBound, noisePlan, BOUND_FAILURE_PROBABILITY } from './dp.js';
import { binWidth, quantilesFromHistogram } from './quantiles.js';
import type { StatsQuery } from './query.js';
import { suppressCells } from './suppression.js';

/** One aggregated field of one cell; null entries were not asked for (or are undefined, e.g. a mean of n <= 0). */
export interface FieldResult {
  readonly n: number;
  readonly sum?: number;
  readonly mean?: number | null;
  /** Population variance: sum((x - mean)^2) / n. */
  readonly variance?: number | null;
  /** Bin counts; a bin under minCellSize is null (with a complementary bin when one alone would follow from n). */
  readonly histogram?: readonly (number | null)[];
  readonly quantiles?: Readonly<Record<string, number | null>>;
}

export interface CellResult {
  readonly group: Readonly<Record<string, string>>;
  readonly suppressed: boolean;
  /** Why: `small-cell` or `complementary`. */
  readonly reason?: 'small-cell' | 'complementary';
  readonly count: number | null;
  /** Field name -> statistics; a field with fewer than minCellSize values in the cell is null. */
  readonly fields: Readonly<Record<string, FieldResult | null>> | null;
}

export interface StatsResult {
  readonly job: string;
  readonly query: string;
  readonly queryDigest: string;
  readonly publishedBy: string;
  readonly contributors: readonly string[];
  /** SHA-256 of the summed vector the result was computed from. */
  readonly sumSha256: string;
  readonly minCellSize: number;
  readonly decimals: number;
  readonly total: { readonly count: number };
  readonly cells: readonly CellResult[];
  readonly suppressedCells: number;
  /** Quantile resolution per field: the bin width (the error bound of an exact histogram). */
  readonly quantileResolution: Readonly<Record<string, number>>;
  /** With DP: the bounds every noisy value stays within, at the stated confidence. */
  readonly noise: null | {
    readonly mechanism: 'laplace' | 'gaussian';
    readonly epsilon: number;
    readonly delta: number;
    readonly confidence: number;
    readonly bounds: readonly { readonly kind: string; readonly field: string | null; readonly bound: number }[];
  };
  readonly publishedAt: string;
}

export interface ResultContext {
  readonly job: string;
  readonly queryDigest: string;
  readonly publishedBy: string;
  readonly contributors: readonly string[];
  readonly sumSha256: string;
  /** The query's minCellSize or the publishing site's, whichever is larger. */
  readonly minCellSize: number;
  readonly now: Date;
}

/**
 * The published answer, from the pooled integer vector: per cell counts and per field n, sum, mean,
 * population variance, histogram and quantiles, after small-cell suppression on the pooled counts.
 * Means and variances come from the exact integer sums: mean = sum / (n * scale),
 * variance = (n * sumsq - sum^2) / (n^2 * scale^2). Histogram bins are counts of patients too, so
 * they are suppressed like cells; quantiles are interpolated from the full pooled histogram (their
 * resolution is one bin width, so they never single out a patient's value).
 */
export function computeStatsResult(q: StatsQuery, layout: StatsLayout, sums: readonly bigint[], ctx: ResultContext): StatsResult {
  if (sums.length !== layout.length) throw new Error(`the summed vector has ${sums.length} values, the query's layout ${layout.length}`);
  const noisy = q.dp !== undefined;
  const at = (cell: number, offset: number) => sums[cell * layout.block + offset]!;
  const counts = layout.cells.map((_, i) => Number(at(i, layout.count)));
  const { suppressed, complementary } = suppressCells(counts, ctx.minCellSize, noisy);
  const S = BigInt(layout.scale);
  const cells = layout.cells.map((group, i): CellResult => {
    if (suppressed[i]) return { group, suppressed: true, reason: complementary.includes(i) ? 'complementary' : 'small-cell', count: null, fields: null };
    const fields: Record<string, FieldResult | null> = {};
    for (const [fi, f] of q.fields.entries()) {
      const slots = layout.fields[fi]!;
      const n = at(i, slots.n);
      if (Number(n) < ctx.minCellSize) {
        fields[f.name] = null;
        continue;
      }
      const out: { -readonly [K in keyof FieldResult]: FieldResult[K] } = { n: Number(n) };
      if (slots.sum !== null) {
        const sum = at(i, slots.sum);
        if (q.statistics.includes('sum')) out.sum = Number(sum) / layout.scale;
        if (q.statistics.includes('mean')) out.mean = n > 0n ? Number(sum) / (Number(n) * layout.scale) : null;
        if (slots.sumsq !== null) {
          const num = n * at(i, slots.sumsq) - sum * sum;
          out.variance = n > 0n ? Math.max(0, Number(num) / (Number(n * n) * Number(S * S))) : null;
        }
      }
      if (slots.hist !== null) {
        const hist = Array.from({ length: slots.bins }, (_, b) => Number(at(i, slots.hist! + b)));
        if (q.statistics.includes('histogram')) {
          const bins = suppressCells(hist, ctx.minCellSize, noisy).suppressed;
          out.histogram = hist.map((h, b) => (bins[b] ? null : h));
        }
        if (q.statistics.includes('quantiles')) {
          const qv = quantilesFromHistogram(hist, f.lower, f.upper, q.quantiles);
          out.quantiles = Object.fromEntries(q.quantiles.map((p, k) => [String(p), qv[k]!]));
        }
      }
      fields[f.name] = out;
    }
    return { group, suppressed: false, count: counts[i]!, fields };
  });
  const plan = noisePlan(q, layout);
  return {
    job: ctx.job, query: q.name, queryDigest: ctx.queryDigest, publishedBy: ctx.publishedBy, contributors: [...ctx.contributors],
    sumSha256: ctx.sumSha256, minCellSize: ctx.minCellSize, decimals: q.decimals,
    total: { count: counts.reduce((a, b) => a + b, 0) },
    cells,
    suppressedCells: suppressed.filter(Boolean).length,
    quantileResolution: Object.fromEntries(q.fields.map((f) => [f.name, binWidth(f.lower, f.upper, f.bins)])),
    noise: q.dp ? {
      mechanism: q.dp.mechanism, epsilon: q.dp.epsilon, delta: q.dp.delta ?? 0, confidence: 1 - BOUND_FAILURE_PROBABILITY,
      bounds: plan.map((k) => {
        const grid = noiseBound(q.dp!.mechanism, k, ctx.contributors.length, layout.length);
        const unit = k.kind === 'sum' ? layout.scale : k.kind === 'sumsq' ? layout.scale ** 2 : 1;
        return { kind: k.kind, field: k.field, bound: grid / unit };
      }),
    } : null,
    publishedAt: ctx.now.toISOString(),
  };
}
