import type { AuditHead } from './event.js';
import { canonicalBytes } from './jcs.js';

/**
 * The chain head is anchored as a leaf of the transparency log. The leaf is the JCS of
 * `{"hash":…,"seq":…,"type":"medfed.audit.anchor/v1"}`, so anyone holding the log can re-derive it.
 */
export const AUDIT_ANCHOR_TYPE = 'medfed.audit.anchor/v1';

export function anchorLeafBytes(head: AuditHead): Uint8Array {
  return canonicalBytes({ type: AUDIT_ANCHOR_TYPE, seq: head.seq, hash: head.hash });
}

/** One recorded anchor: which head went into which log leaf, and the checkpoint the log returned. */
export interface AnchorRecord {
  readonly seq: number;
  readonly hash: string;
  readonly leaf_index: number;
  readonly anchored_at: string;
  /** The log's checkpoint after the append, as the log returned it (opaque here). */
  readonly checkpoint: string | null;
}

/**
 * Hook for the transparency-log verifier: given the anchors a bundle claims, the leaf bytes they
 * imply, and the bundle's checkpoints and proofs, it throws (any error) when they do not verify.
 */
export type TlogEvidenceVerifier = (input: {
  readonly anchors: readonly AnchorRecord[];
  readonly leaves: readonly { readonly leafIndex: number; readonly bytes: Uint8Array }[];
  readonly checkpoints: unknown;
  readonly proofs: unknown;
}) => Promise<void>;
