import { TlogError } from './errors.js';
import { isTreeSize } from './geometry.js';
import { HASH_SIZE, equalHashes, hashChildren } from './hash.js';

/**
 * RFC 9162 section 2.1.4.2: checks that the tree (size2, root2) extends (size1, root1).
 * size1 > size2 is TLOG_ROLLBACK; everything else that does not verify is TLOG_CONSISTENCY_INVALID.
 * A proof from the empty tree is refused, as in RFC 9162: callers treat size 0 as "nothing seen".
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  if (!isTreeSize(size1) || !isTreeSize(size2)) {
    throw new TlogError('TLOG_PROOF_MALFORMED', `tree sizes ${String(size1)} and ${String(size2)} must be non-negative safe integers`);
  }
  if (size1 > size2) {
    throw new TlogError('TLOG_ROLLBACK', `the new tree size ${size2} is smaller than the ${size1} already seen`, { size1, size2 });
  }
  const fail = (why: string): never => {
    throw new TlogError('TLOG_CONSISTENCY_INVALID', `tree of size ${size2} is not shown to extend the tree of size ${size1}: ${why}`, { size1, size2 });
  };
  if (root1.length !== HASH_SIZE || root2.length !== HASH_SIZE || proof.some((p) => p.length !== HASH_SIZE)) {
    fail(`every hash must be ${HASH_SIZE} bytes`);
  }
  if (size1 === size2) {
    if (proof.length !== 0) fail('equal sizes need an empty proof');
    if (!equalHashes(root1, root2)) fail('same size, different roots (split view)');
    return;
  }
  if (size1 === 0) fail('a consistency proof from the empty tree proves nothing');
  if (proof.length === 0) fail('the proof is empty');

  // Step 2: when size1 is a power of two its root is the first node of the path.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0) fail('the proof has extra hashes');
    if (fn % 2 === 1 || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) fail('the proof is missing hashes');
  if (!equalHashes(fr, root1)) fail('it does not reproduce the older root');
  if (!equalHashes(sr, root2)) fail('it does not reproduce the newer root');
}

function isPowerOfTwo(n: number): boolean {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}
