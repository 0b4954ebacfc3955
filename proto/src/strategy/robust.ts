import type { IndividualUpdate } from './definition.js';
import { f32 } from './float32-ops.js';

/** Coordinate-wise order statistics over the sites' deltas (robust aggregators; plaintext jobs only). */
export function column(updates: readonly IndividualUpdate[], i: number, into: Float64Array): Float64Array {
  for (let k = 0; k < updates.length; k++) into[k] = updates[k]!.delta[i]!;
  return into.sort();
}

export function checkLengths(updates: readonly IndividualUpdate[]): number {
  const n = updates[0]?.delta.length ?? 0;
  for (const u of updates) if (u.delta.length !== n) throw new RangeError(`update of ${u.siteId} has ${u.delta.length} values, expected ${n}`);
  return n;
}

export function median(sorted: Float64Array): number {
  const k = sorted.length;
  return k % 2 === 1 ? sorted[(k - 1) / 2]! : f32((sorted[k / 2 - 1]! + sorted[k / 2]!) / 2);
}
