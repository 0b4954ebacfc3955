import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { ModelHeader } from '@medfed/proto';
import { verifyModelArtifact, type VerifiedModelArtifact } from '@medfed/proto/bundle/index';
import { formatVerifierKey, NOTE_KEY_TYPE, parseCheckpoint, TlogError, toBase64, verifyCheckpoint, verifyCosignatures, Witness, type NoteSigner } from '@medfed/proto/tlog/index';
import { fromHex } from '@medfed/proto/tlog/index';
import { TrustError } from './errors.js';
import type { ExpectedDownload } from './expected.js';
import type { ModelGate } from './model-gate.js';
import type { TrustAnchors } from './trust-anchors.js';
import { checkPublicParams, type ExpectedPublicParams } from './public-params.js';
import { REFUSED_CHECKPOINT_FILE, saveCheckpoint, saveManifestDigest, saveRefusedCheckpoint, type VerifierState } from './verifier-state.js';
import { awaitCosignatures, DEFAULT_COSIGNATURE_WAIT_MS, type CosignatureWaitLog } from './await-cosignatures.js';

export interface ModelVerifierOptions {
  /** Pinned anchors; null: development without them, bytes are only hashed (said loudly at start). */
  readonly anchors: TrustAnchors | null;
  readonly state: VerifierState;
  readonly witness: NoteSigner;
  /** Sends this agent's cosignature of a checkpoint it verified (SubmitCosignature). */
  readonly submitCosignature?: (cosigned: string) => Promise<void>;
  readonly onWarning?: (message: string, err?: unknown) => void;
  /** The site's gate policy for models, applied after verification and before load (null/absent: none). */
  readonly gate?: ModelGate | null;
  /** Where waiting for other sites' cosignatures is logged (each retry at debug, the refusal at warn). */
  readonly log?: CosignatureWaitLog;
}

/**
 * Verification before load, at the site: every downloaded model is checked against the pinned
 * manifest keys and log key (signature, job, round, kind, blob digest of the exact bytes,
 * checkpoint, inclusion, consistency with the last checkpoint this agent saw). Each refusal throws
 * with the code of the failed check. A checkpoint that verified and extends the previous one is
 * saved, co-signed with the agent's witness key and sent back to the coordinator. Then the site's
 * gate policy judges the verified bytes and their manifest (model-gate.ts) before anything loads them.
 */
export class ModelVerifier {
  readonly #options: ModelVerifierOptions;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: ModelVerifierOptions) {
    this.#options = options;
  }

  /** The verifier key of this agent's witness (sent at Enroll). */
  get witnessVkey(): string {
    return formatVerifierKey(this.#options.witness.name, NOTE_KEY_TYPE.COSIGNATURE_V1, this.#options.witness.publicKey);
  }

  get verifying(): boolean {
    return this.#options.anchors !== null;
  }

  /** The size of the last checkpoint this agent accepted (the consistency proof starts there). */
  knownTreeSize(): number {
    const note = this.#options.state.checkpoint;
    if (!note) return 0;
    try {
      return parseCheckpoint(note.slice(0, note.indexOf('\n\n') + 1)).size;
    } catch {
      return 0;
    }
  }

  /** With pinned anchors: an epoch's public parameters must match their signed manifest and the task (public-params.ts). */
  async checkPublicParams(expected: ExpectedPublicParams, publicParams: unknown, manifestJws: string | undefined): Promise<void> {
    const { anchors } = this.#options;
    if (anchors) await checkPublicParams(anchors, expected, publicParams, manifestJws);
  }

  /** SHA-256 of the manifest JWS of a model this agent downloaded (what its attestation names). */
  manifestDigestOf(modelId: string): string | null {
    return this.#options.state.manifests[modelId] ?? null;
  }

  /**
   * Pinned witness keys of other sites (this agent's own key left out) and how many must have
   * cosigned; refused when k cannot be met even in principle, so the agent does not start.
   */
  othersRequired(): { readonly keys: readonly string[]; readonly required: number } {
    const policy = this.#options.anchors?.witnesses;
    if (!policy) return { keys: [], required: 0 };
    const own = this.witnessVkey;
    return { keys: policy.keys.filter((k) => k !== own), required: policy.required };
  }

  /**
   * Runs a download-and-verify `attempt` and, when k cosignatures are required, tries it again
   * while the checkpoint lacks them and `expected.deadlineMs` allows (await-cosignatures.ts).
   */
  untilCosigned<T>(attempt: () => Promise<T>, expected: { readonly deadlineMs?: number | undefined }, subject: string): Promise<T> {
    if (this.othersRequired().required === 0) return attempt();
    const deadlineMs = expected.deadlineMs && expected.deadlineMs > 0 ? expected.deadlineMs : Date.now() + DEFAULT_COSIGNATURE_WAIT_MS;
    return awaitCosignatures(attempt, { deadlineMs, subject, log: this.#options.log });
  }

  /** Verifies one download; one at a time, so the saved checkpoint only moves forward. */
  verify(header: ModelHeader, bytes: Uint8Array, expected: ExpectedDownload & { readonly job: string }): Promise<VerifiedModelArtifact | null> {
    const run = this.#queue.catch(() => undefined).then(() => this.#verify(header, bytes, expected));
    this.#queue = run;
    return run;
  }

  async #verify(header: ModelHeader, bytes: Uint8Array, expected: ExpectedDownload & { readonly job: string }): Promise<VerifiedModelArtifact | null> {
    const { anchors, state } = this.#options;
    if (!anchors) {
      // Development without pinned anchors: nothing to verify against; keep the manifest digest only.
      // No verified signature: the gate judges the bytes without one (its prod rules stop that).
      await this.#options.gate?.check({ modelId: header.modelId, blobName: expected.blob, bytes, manifestJws: header.manifestJws || undefined });
      if (header.manifestJws) await saveManifestDigest(state, header.modelId, createHash('sha256').update(header.manifestJws, 'ascii').digest('hex'));
      return null;
    }
    if (!header.manifestJws || !header.checkpoint) {
      throw new TrustError('TRUST_EVIDENCE_MISSING', `model ${header.modelId} arrived without a signed manifest and checkpoint; refusing to load it`);
    }
    const previous = state.checkpoint ?? undefined;
    let verified: VerifiedModelArtifact;
    try {
      verified = await verifyModelArtifact({
        bytes,
        manifestJws: header.manifestJws,
        checkpoint: header.checkpoint,
        inclusionProof: { leaf_index: Number(header.leafIndex), tree_size: Number(header.treeSize), hashes: header.inclusionProof },
        trustedKeys: anchors.jwks,
        checkpointVerifierKey: anchors.checkpointKey,
        expected: { job: expected.job, round: expected.round, kinds: expected.kinds, blob: expected.blob },
        ...(previous !== undefined ? { previousCheckpoint: previous, consistencyProof: header.consistencyProof } : {}),
      });
    } catch (err) {
      if (previous !== undefined) throw await this.#viewConflict(err, header.checkpoint);
      throw err;
    }
    // The site's own gate policy has the last word before load; the verified manifest JWS is the signature it checks.
    await this.#options.gate?.check({
      modelId: header.modelId, blobName: verified.blob.name, bytes, manifestJws: header.manifestJws,
      signedBy: { kid: verified.kid, blobSha256: verified.blob.sha256 },
    });
    await saveManifestDigest(state, header.modelId, verified.manifestDigest);
    if (verified.checkpoint.size > this.knownTreeSize() || previous === undefined) {
      await saveCheckpoint(state, verified.checkpointNote);
      await this.#cosign(verified, previous, header.consistencyProof);
    }
    this.#requireCosignatures(verified.checkpointNote);
    return verified;
  }

  /**
   * A log-signed checkpoint that does not extend the saved view (TLOG_ROLLBACK: a smaller tree, as
   * after a restore of the coordinator's database from an older backup; TLOG_CONSISTENCY_INVALID:
   * another history): refused as before, never accepted here. The checkpoint is kept in the state
   * dir (refused-checkpoint.txt) as evidence, and the refusal says what a steward can do about it.
   * Any other error, or a checkpoint the pinned log key did not sign, passes through unchanged.
   */
  async #viewConflict(err: unknown, note: string): Promise<unknown> {
    const code = (err as { code?: unknown }).code;
    if (code !== 'TLOG_ROLLBACK' && code !== 'TLOG_CONSISTENCY_INVALID') return err;
    try {
      verifyCheckpoint(note, this.#options.anchors!.checkpointKey);
      await saveRefusedCheckpoint(this.#options.state, note);
    } catch {
      return err;
    }
    return new TlogError(code, `${(err as Error).message}. The agent keeps its saved view of the log and refuses every model under this checkpoint `
      + `(kept in ${join(this.#options.state.dir, REFUSED_CHECKPOINT_FILE)}). If the coordinator's operators restored its database from a backup, `
      + 'the site steward re-anchors after checking the new checkpoint with them: stop the agent, run medfed agent reanchor-log (docs/operations.md, "Backup and restore")',
    (err as TlogError).details, { cause: err });
  }

  /**
   * k-of-n witnesses (trust.requiredCosignatures): the checkpoint must carry valid cosignatures by
   * k distinct pinned witnesses of other sites, so a coordinator restored from an old backup, or
   * showing this site a history the others never saw, is refused (COSIGNATURES_INSUFFICIENT). This
   * agent's own cosignature, sent above so the others can count it, never counts for itself.
   */
  #requireCosignatures(note: string): void {
    const { keys, required } = this.othersRequired();
    if (required === 0) return;
    verifyCosignatures(note, { witnessKeys: keys, required });
  }

  /** Witness duty: cosign the checkpoint just verified as extending the previous one, and send it. */
  async #cosign(verified: VerifiedModelArtifact, previous: string | undefined, proof: readonly string[]): Promise<void> {
    const { anchors, witness, submitCosignature, onWarning } = this.#options;
    try {
      const before = previous ? parseCheckpoint(previous.slice(0, previous.indexOf('\n\n') + 1)) : null;
      const w = new Witness({
        signer: witness,
        logs: [anchors!.checkpointKey],
        ...(before && before.size > 0 ? { state: { [before.origin]: { size: before.size, rootHash: toBase64(before.rootHash) } } } : {}),
      });
      const cosigned = await w.cosign(verified.checkpointNote, proof.map((h) => fromHex(h) ?? new Uint8Array(0)));
      await submitCosignature?.(cosigned);
    } catch (err) {
      onWarning?.('checkpoint verified but its cosignature could not be sent', err);
    }
  }
}
