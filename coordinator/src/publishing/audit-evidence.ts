import type { AnchorRecord, TlogEvidenceVerifier } from '@medfed/proto/audit/index';
import { fromHex, hashLeaf, noteVerifier, toHex, TlogError, verifyCheckpoint, verifyInclusion } from '@medfed/proto/tlog/index';
import type { TlogEvidenceProvider } from '../audit/export/build-bundle.js';
import { readTlogTail } from '../audit/export/tlog-tail.js';
import type { TransparencyLog } from '../tlog/transparency-log.js';

/** `checkpoints.json` of an audit bundle: the log's verifier key and one checkpoint covering every anchor. */
export interface AuditCheckpointsJson {
  readonly log_key: string;
  readonly checkpoint: string;
}

/** `proofs.json`: an inclusion proof of each anchor leaf under that checkpoint. */
export interface AuditProofsJson {
  readonly tree_size: number;
  readonly inclusion: readonly { readonly seq: number; readonly leaf_index: number; readonly hashes: readonly string[] }[];
}

/** The export's evidence: a fresh signed checkpoint of the log and each anchor's inclusion proof under it. */
export function auditTlogEvidence(tlog: TransparencyLog): TlogEvidenceProvider {
  return async (anchors: readonly AnchorRecord[]) => {
    const checkpoint = await tlog.checkpoint();
    const inclusion = [];
    for (const a of anchors) {
      const proof = await tlog.inclusionProof(a.leaf_index, checkpoint.size);
      inclusion.push({ seq: a.seq, leaf_index: a.leaf_index, hashes: proof.hashes.map(toHex) });
    }
    const checkpoints: AuditCheckpointsJson = { log_key: tlog.verifierKey, checkpoint: checkpoint.note };
    const proofs: AuditProofsJson = { tree_size: checkpoint.size, inclusion };
    return { checkpoints, proofs, tail: await readTlogTail(tlog.log, anchors, checkpoint.size) };
  };
}

const malformed = (why: string): never => {
  throw new TlogError('TLOG_PROOF_MALFORMED', `the bundle's transparency-log evidence is malformed: ${why}`);
};

/**
 * The offline verifier for that evidence (for `verifyAuditBundle`'s `verifyTlog`): the checkpoint
 * must be signed by the log key (pinned, or else the one the bundle names, which proves consistency
 * only), and every anchor's leaf, re-derived from the chain head it claims, must be included under it.
 */
export function auditTlogVerifier(options: { readonly checkpointVerifierKey?: string } = {}): TlogEvidenceVerifier {
  return async ({ leaves, checkpoints, proofs }) => {
    const c = checkpoints as Partial<AuditCheckpointsJson> | null;
    const p = proofs as Partial<AuditProofsJson> | null;
    if (!c || typeof c.checkpoint !== 'string' || typeof c.log_key !== 'string') return malformed('checkpoints.json needs {"log_key", "checkpoint"}');
    if (!p || typeof p.tree_size !== 'number' || !Array.isArray(p.inclusion)) return malformed('proofs.json needs {"tree_size", "inclusion": [...]}');
    const key = noteVerifier(options.checkpointVerifierKey ?? c.log_key);
    const { checkpoint } = verifyCheckpoint(c.checkpoint, key);
    if (p.tree_size !== checkpoint.size) malformed(`proofs.json is for a tree of ${p.tree_size} leaves, the checkpoint for ${checkpoint.size}`);
    for (const leaf of leaves) {
      const proof = p.inclusion.find((x) => x?.leaf_index === leaf.leafIndex);
      if (!proof || !Array.isArray(proof.hashes)) return malformed(`no inclusion proof for anchor leaf ${leaf.leafIndex}`);
      const hashes = (proof.hashes as readonly unknown[]).map((h: unknown, i: number) => fromHex(String(h)) ?? malformed(`hash ${i} of the proof of leaf ${leaf.leafIndex} is not hex`));
      verifyInclusion(leaf.leafIndex, checkpoint.size, hashLeaf(leaf.bytes), hashes, checkpoint.rootHash);
    }
  };
}
