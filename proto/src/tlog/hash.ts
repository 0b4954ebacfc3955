import { createHash } from 'node:crypto';

/** RFC 6962 / RFC 9162 section 2.1.1 domain separation: leaves and interior nodes never collide. */
const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

export const HASH_SIZE = 32;

/** MTH({}) = SHA-256 of the empty string. */
export const EMPTY_ROOT_HASH: Uint8Array = createHash('sha256').digest();

/** leaf hash = SHA-256(0x00 || data) */
export function hashLeaf(data: Uint8Array): Uint8Array {
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

/** node hash = SHA-256(0x01 || left || right) */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** The root of consecutive complete subtrees, left to right: folded from the right edge, as MTH does. */
export function foldSubtrees(hashes: readonly Uint8Array[]): Uint8Array {
  if (hashes.length === 0) return EMPTY_ROOT_HASH;
  let acc = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) acc = hashChildren(hashes[i]!, acc);
  return acc;
}

export function equalHashes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
