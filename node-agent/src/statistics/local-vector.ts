import { binOf, cellIndex, fixedPoint, type StatsLayout, type StatsQuery } from '@medfed/proto/stats/index';
import type { Cell } from '../masking/index.js';

/**
 * A site's answer before noise and encryption: per group cell, the count of rows and per field the
 * number of values, their fixed-point sum and sum of squares and the histogram counts, all exact
 * integers. Rows whose grouping value is not a declared category are not counted; a missing or
 * non-numeric value counts in the row count only.
 */
export function localStatsVector(q: StatsQuery, layout: StatsLayout, records: readonly Readonly<Record<string, Cell>>[]): bigint[] {
  const out = new Array<bigint>(layout.length).fill(0n);
  for (const r of records) {
    const cell = cellIndex(q, q.groupBy.map((g) => (r[g.field] === null || r[g.field] === undefined ? null : String(r[g.field]))));
    if (cell < 0) continue;
    const base = cell * layout.block;
    out[base + layout.count]! += 1n;
    for (const [i, f] of q.fields.entries()) {
      const x = numeric(r[f.name] ?? null);
      if (x === null) continue;
      const s = layout.fields[i]!;
      out[base + s.n]! += 1n;
      const v = fixedPoint(x, f.lower, f.upper, layout.scale);
      if (s.sum !== null) out[base + s.sum]! += v;
      if (s.sumsq !== null) out[base + s.sumsq]! += v * v;
      if (s.hist !== null) out[base + s.hist + binOf(x, f.lower, f.upper, s.bins)]! += 1n;
    }
  }
  return out;
}

function numeric(c: Cell): number | null {
  if (c === null) return null;
  if (typeof c === 'number') return Number.isFinite(c) ? c : null;
  const t = String(c).trim();
  if (t === '' || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) return null;
  return Number(t);
}
