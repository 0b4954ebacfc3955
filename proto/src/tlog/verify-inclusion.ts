import { TlogError } from './errors.js';
import { isTreeSize } from './geometry.js';
import { HASH_SIZE, equalHashes, hashChildren } from './hash.js';
import { toHex } from './encoding.js';

/**
 * RFC 9162 section 2.1.3.2: recomputes the root from a leaf hash and its inclusion path.
 * Throws TLOG_PROOF_MALFORMED for impossible inputs and TLOG_INCLUSION_INVALID when the path
 * has the wrong length for (index, size).
 */
export function rootFromInclusionProof(
  leafIndex: number,
  treeSize: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
): Uint8Array {
  if (!isTreeSize(leafIndex) || !isTreeSize(treeSize)) {
    throw new TlogError('TLOG_PROOF_MALFORMED', `leaf index ${String(leafIndex)} and tree size ${String(treeSize)} must be non-negative safe integers`);
  }
  if (leafIndex >= treeSize) {
    throw new TlogError('TLOG_INCLUSION_INVALID', `leaf index ${leafIndex} is not inside a tree of size ${treeSize}`);
  }
  if (leafHash.length !== HASH_SIZE || proof.some((p) => p.length !== HASH_SIZE)) {
    throw new TlogError('TLOG_INCLUSION_INVALID', `every hash in an inclusion proof must be ${HASH_SIZE} bytes`);
  }
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) throw new TlogError('TLOG_INCLUSION_INVALID', `inclusion proof has more hashes than leaf ${leafIndex} in a tree of size ${treeSize} needs`);
    if (fn % 2 === 1 || fn === sn) {
      r = hashChildren(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new TlogError('TLOG_INCLUSION_INVALID', `inclusion proof for leaf ${leafIndex} in a tree of size ${treeSize} is missing hashes`);
  return r;
}

/** Throws TLOG_INCLUSION_INVALID unless `proof` shows `leafHash` at `leafIndex` in the tree with `root`. */
export function verifyInclusion(
  leafIndex: number,
  treeSize: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  const computed = rootFromInclusionProof(leafIndex, treeSize, leafHash, proof);
  if (!equalHashes(computed, root)) {
    throw new TlogError('TLOG_INCLUSION_INVALID', `inclusion proof for leaf ${leafIndex} leads to root ${toHex(computed)}, not the checkpoint root ${toHex(root)}`, {
      leafIndex,
      treeSize,
    });
  }
}
