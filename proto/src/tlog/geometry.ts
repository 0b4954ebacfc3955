/**
 * Tree geometry of an RFC 6962 log, in plain arithmetic (no 32-bit bitwise operators) so that
 * sizes up to 2^53 - 1 are handled exactly.
 *
 * A node id (level, index) names the complete subtree over leaves
 * [index * 2^level, (index + 1) * 2^level). Those hashes never change once the leaves exist, which
 * is why storage keeps them and proofs are a handful of lookups.
 */
export interface NodeId {
  readonly level: number;
  readonly index: number;
}

/** A half-open range of leaves [start, end) whose MTH a proof needs. */
export interface LeafRange {
  readonly start: number;
  readonly end: number;
}

export function isTreeSize(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** The largest power of two strictly below n (n >= 2): RFC 6962's split point k. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The complete subtrees that cover [start, end), left to right (a "compact range"). For the
 * aligned ranges proofs use, folding their hashes from the right gives MTH(D[start:end]).
 */
export function rangeNodes(start: number, end: number): NodeId[] {
  const nodes: NodeId[] = [];
  let at = start;
  while (at < end) {
    let size = 1;
    let level = 0;
    while (size * 2 <= end - at && at % (size * 2) === 0) {
      size *= 2;
      level++;
    }
    nodes.push({ level, index: at / size });
    at += size;
  }
  return nodes;
}

/** RFC 6962 section 2.1.1 PATH(m, D[n]) as leaf ranges, in proof order (leaf side first). */
export function inclusionRanges(index: number, size: number): LeafRange[] {
  if (index < 0 || index >= size) return [];
  const out: LeafRange[] = [];
  let lo = 0;
  let hi = size;
  // Walk down from the root; the sibling ranges are collected top-down and reversed at the end.
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (index < lo + k) {
      out.push({ start: lo + k, end: hi });
      hi = lo + k;
    } else {
      out.push({ start: lo, end: lo + k });
      lo = lo + k;
    }
  }
  return out.reverse();
}

/** RFC 6962 section 2.1.2 PROOF(m, D[n]) = SUBPROOF(m, D[n], true) as leaf ranges, in proof order. */
export function consistencyRanges(size1: number, size2: number): LeafRange[] {
  // From the empty tree there is nothing to prove (and the walk below would not end).
  if (size1 <= 0 || size1 >= size2) return [];
  const out: LeafRange[] = [];
  let lo = 0;
  let hi = size2;
  let m = size1;
  let complete = true;
  while (m !== hi - lo) {
    const k = splitPoint(hi - lo);
    if (m <= k) {
      out.push({ start: lo + k, end: hi });
      hi = lo + k;
    } else {
      out.push({ start: lo, end: lo + k });
      lo = lo + k;
      m -= k;
      complete = false;
    }
  }
  if (!complete) out.push({ start: lo, end: hi });
  return out.reverse();
}
