import { fromHex, toHex } from '../tlog/encoding.js';
import { TlogError } from '../tlog/errors.js';
import { isTreeSize } from '../tlog/geometry.js';
import { HASH_SIZE } from '../tlog/hash.js';

export interface InclusionProof {
  readonly leafIndex: number;
  readonly treeSize: number;
  readonly hashes: readonly Uint8Array[];
}

/** The wire form in `inclusion-proof.json`. */
export interface InclusionProofJson {
  readonly leaf_index: number;
  readonly tree_size: number;
  readonly hashes: readonly string[];
}

export function inclusionProofToJson(p: InclusionProof): InclusionProofJson {
  return { leaf_index: p.leafIndex, tree_size: p.treeSize, hashes: p.hashes.map(toHex) };
}

/** Parses the JSON form strictly: integers in range, 64-digit lowercase hex hashes, no other fields. */
export function parseInclusionProof(value: unknown): InclusionProof {
  const bad = (why: string): never => {
    throw new TlogError('TLOG_PROOF_MALFORMED', `the inclusion proof is malformed: ${why}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('expected {"leaf_index", "tree_size", "hashes"}');
  const v = value as Record<string, unknown>;
  const extra = Object.keys(v).filter((k) => !['leaf_index', 'tree_size', 'hashes'].includes(k));
  if (extra.length > 0) bad(`unexpected field ${extra.join(', ')}`);
  if (!isTreeSize(v.leaf_index)) bad('leaf_index must be a non-negative integer');
  if (!isTreeSize(v.tree_size)) bad('tree_size must be a non-negative integer');
  if (!Array.isArray(v.hashes) || v.hashes.length > 64) return bad('hashes must be an array of at most 64 hex strings');
  const hashes = v.hashes.map((h, i) => {
    const bytes = typeof h === 'string' ? fromHex(h) : undefined;
    if (!bytes || bytes.length !== HASH_SIZE) return bad(`hashes[${i}] is not ${HASH_SIZE * 2} lowercase hex digits`);
    return bytes;
  });
  return { leafIndex: v.leaf_index as number, treeSize: v.tree_size as number, hashes };
}
