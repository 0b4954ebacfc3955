import { TlogError } from './errors.js';
import { isTreeSize, rangeNodes, type NodeId } from './geometry.js';
import { equalHashes, foldSubtrees, hashChildren, HASH_SIZE } from './hash.js';

/**
 * The frontier of a tree of `size` leaves: its complete subtrees from left to right, O(log n) of
 * them. With the frontier, the leaves that follow are enough to recompute any later root.
 */
export function frontierNodes(size: number): NodeId[] {
  return rangeNodes(0, size);
}

/**
 * MTH of the tree of `size + leafHashes.length` leaves, from the frontier hashes of the tree of
 * `size` leaves and the hashes of the leaves appended after it. Throws TLOG_PROOF_MALFORMED when
 * the frontier does not have the shape of a tree of `size` leaves.
 */
export function rootFromFrontier(size: number, frontier: readonly Uint8Array[], leafHashes: readonly Uint8Array[]): Uint8Array {
  if (!isTreeSize(size)) throw new TlogError('TLOG_PROOF_MALFORMED', `frontier size ${String(size)} is not a tree size`);
  const shape = frontierNodes(size);
  if (shape.length !== frontier.length || [...frontier, ...leafHashes].some((h) => h.length !== HASH_SIZE)) {
    throw new TlogError('TLOG_PROOF_MALFORMED', `a tree of ${size} leaves has a frontier of ${shape.length} ${HASH_SIZE}-byte hashes; got ${frontier.length}`);
  }
  // A stack of complete subtrees (level, hash); appending a leaf merges equal levels, as a binary counter carries.
  const stack = shape.map((node, i) => ({ level: node.level, hash: frontier[i]! }));
  for (const leaf of leafHashes) {
    let top = { level: 0, hash: leaf };
    while (stack.length > 0 && stack[stack.length - 1]!.level === top.level) {
      const left = stack.pop()!;
      top = { level: top.level + 1, hash: hashChildren(left.hash, top.hash) };
    }
    stack.push(top);
  }
  return foldSubtrees(stack.map((s) => s.hash));
}

/** Whether `root` is the root recomputed from that frontier and those leaves. */
export function frontierMatchesRoot(size: number, frontier: readonly Uint8Array[], leafHashes: readonly Uint8Array[], root: Uint8Array): boolean {
  return equalHashes(rootFromFrontier(size, frontier, leafHashes), root);
}
