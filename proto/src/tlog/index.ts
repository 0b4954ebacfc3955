export { TLOG_ERRORS, TlogError, type TlogErrorCode } from './errors.js';
export { HASH_SIZE, EMPTY_ROOT_HASH, hashLeaf, hashChildren, foldSubtrees, equalHashes } from './hash.js';
export { toHex, fromHex, toBase64, fromBase64 } from './encoding.js';
export { rangeNodes, inclusionRanges, consistencyRanges, splitPoint, isTreeSize, type NodeId, type LeafRange } from './geometry.js';
export { rootFromInclusionProof, verifyInclusion } from './verify-inclusion.js';
export { verifyConsistency } from './verify-consistency.js';
export type { TreeStore, TreeHead, StoredNode, AppendBatch } from './tree-store.js';
export { planAppend, EMPTY_TREE_HEAD } from './plan-append.js';
export { MemoryTreeStore } from './memory-tree-store.js';
export { MerkleLog, type AppendResult } from './merkle-log.js';
export {
  NOTE_KEY_TYPE,
  noteKeyId,
  noteSigner,
  noteVerifier,
  formatVerifierKey,
  formatSignerKey,
  generateNoteKey,
  isNoteKeyName,
  type NoteKeyType,
  type NoteSigner,
  type NoteVerifier,
} from './note-keys.js';
export { parseNote, formatNote, signNote, addSignatures, checkNoteSignatures, formatSignatureLine, type SignedNote, type NoteSignature, type NoteCheck } from './note.js';
export { formatCheckpoint, parseCheckpoint, signCheckpoint, verifyCheckpoint, type Checkpoint, type VerifiedCheckpoint } from './checkpoint.js';
export { cosignatureMessage } from './cosignature-message.js';
export { verifyCosignatures, type Cosignature, type CosignaturePolicy } from './cosignature.js';
export { Witness, type WitnessOptions, type WitnessState, type WitnessView } from './witness.js';
export { frontierNodes, rootFromFrontier, frontierMatchesRoot } from './frontier.js';
