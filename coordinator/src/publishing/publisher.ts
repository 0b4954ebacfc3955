import { createHash } from 'node:crypto';
import type { ModelBundleParts } from '@medfed/proto/bundle/index';
import { signManifest, type ManifestJwks } from '@medfed/proto/manifest/index';
import type { BlobStore } from '../blobs/blob-store.js';
import type { ModelRow } from '../federation/rows.js';
import type { Db, Queryable } from '../storage/db.js';
import type { StoredCheckpoint, TransparencyLog } from '../tlog/transparency-log.js';
import { acceptCosignature, registerWitnessKey } from './witness-keys.js';
import { buildManifest } from './build-manifest.js';
import { buildArtifactManifest, publicParamsArtifact, trainerAllowlistArtifact, type NonModelArtifact } from './artifact-manifests.js';
import type { HePublicParams } from '@medfed/proto';
import { PublishingError } from './errors.js';
import type { ManifestKeys } from './keys.js';

export interface ModelPublisherOptions {
  readonly db: Db;
  readonly blobs: BlobStore;
  readonly tlog: TransparencyLog;
  readonly keys: ManifestKeys;
  readonly now?: () => Date;
}

/** One published artifact: its manifest and where it sits in the log. */
export interface PublishedManifest {
  readonly modelId: string;
  readonly jobId: string;
  readonly round: number;
  readonly kind: string;
  readonly jws: string;
  /** SHA-256 (hex) of the JWS. */
  readonly digest: string;
  readonly leafIndex: number;
}

interface ManifestRow {
  model_id: string; job_id: string; round: number; kind: string; jws: string; digest: string; leaf_index: string | number | null;
}

const toPublished = (r: ManifestRow, leafIndex: number): PublishedManifest => ({
  modelId: r.model_id, jobId: r.job_id, round: r.round, kind: r.kind, jws: r.jws, digest: r.digest, leafIndex,
});

/**
 * Signs a manifest for every artifact the engine stores, in the transaction that stores it, and
 * appends the manifests to the transparency log after they commit. The append happens outside the
 * engine's transaction because the log group-commits on its own connection (and embedded PGlite has
 * only one); a manifest whose append was interrupted by a crash is appended on the next flush, and
 * no artifact is served before its manifest is in the log.
 */
export class ModelPublisher {
  readonly tlog: TransparencyLog;
  readonly #db: Db;
  readonly #blobs: BlobStore;
  readonly #keys: ManifestKeys;
  readonly #now: () => Date;
  #flushing: Promise<number> = Promise.resolve(0);
  #queued: Promise<number> | null = null;

  constructor(options: ModelPublisherOptions) {
    this.#db = options.db;
    this.#blobs = options.blobs;
    this.tlog = options.tlog;
    this.#keys = options.keys;
    this.#now = options.now ?? (() => new Date());
  }

  /** Every manifest key, retired ones included. */
  jwks(): ManifestJwks {
    return this.#keys.jwks;
  }

  /**
   * Signs an audit bundle's manifest.json with the manifest key (the audit bundle format's signer).
   * The JWS header names its own typ, so it can never pass for a model manifest.
   */
  readonly signAuditManifest = (payload: Uint8Array): Promise<string> => this.#keys.signer.sign(payload, { typ: 'medfed-audit-manifest+jws' });

  /** The log's checkpoint verifier key, as sites pin it. */
  get checkpointKey(): string {
    return this.tlog.verifierKey;
  }

  /** The engine's hook: called inside the transaction that inserts `model`'s row. */
  async onModelStored(tx: Queryable, model: ModelRow): Promise<void> {
    const { rows } = await tx.query<{ chain_seq: number; digest: string }>(
      'SELECT chain_seq, digest FROM model_manifests WHERE job_id = $1 ORDER BY chain_seq DESC LIMIT 1', [model.job_id]);
    const previous = rows[0] ?? null;
    const manifest = await buildManifest(tx, model, previous?.digest ?? null, this.#now());
    const jws = await signManifest(manifest, this.#keys.signer);
    const digest = createHash('sha256').update(jws, 'ascii').digest('hex');
    await tx.query(
      `INSERT INTO model_manifests (model_id, job_id, chain_seq, round, kind, jws, digest) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [model.id, model.job_id, previous ? previous.chain_seq + 1 : 0, model.round, model.kind, jws, digest]);
  }

  /** The engine's hook when an epoch's keys are stored: the public parameters get a manifest in the job's chain. */
  onPublicParamsStored(tx: Queryable, stored: { jobId: string; epoch: number; round: number; publicParams: HePublicParams }): Promise<void> {
    return this.#publishArtifact(tx, publicParamsArtifact(stored.jobId, stored.round, stored.publicParams));
  }

  /** The engine's hook after a trainer admission: the job's whole allowlist, unless this exact list is already published. */
  onTrainerAllowlistChanged(tx: Queryable, change: { jobId: string; round: number; measurements: readonly string[] }): Promise<void> {
    return this.#publishArtifact(tx, trainerAllowlistArtifact(change.jobId, change.round, change.measurements));
  }

  async #publishArtifact(tx: Queryable, artifact: NonModelArtifact): Promise<void> {
    const { rows: existing } = await tx.query('SELECT 1 FROM model_manifests WHERE model_id = $1', [artifact.id]);
    if (existing.length > 0) return;
    const { rows } = await tx.query<{ chain_seq: number; digest: string }>(
      'SELECT chain_seq, digest FROM model_manifests WHERE job_id = $1 ORDER BY chain_seq DESC LIMIT 1', [artifact.jobId]);
    const previous = rows[0] ?? null;
    const jws = await signManifest(buildArtifactManifest(artifact, previous?.digest ?? null, this.#now()), this.#keys.signer);
    const digest = createHash('sha256').update(jws, 'ascii').digest('hex');
    await tx.query(
      `INSERT INTO model_manifests (model_id, job_id, chain_seq, round, kind, jws, digest) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [artifact.id, artifact.jobId, previous ? previous.chain_seq + 1 : 0, artifact.round, artifact.kind, jws, digest]);
  }

  /**
   * Appends every committed manifest that is not in the log yet, in chain order; one flush at a
   * time, and calls that arrive while one waits share it (the engine asks after every change).
   */
  /** Told before pending manifests are appended to the log (the operator's log shows the publishing phase). */
  onPublishing: ((count: number) => void) | null = null;

  flushPending(): Promise<number> {
    if (this.#queued) return this.#queued;
    const queued = this.#flushing.catch(() => 0).then(() => {
      this.#queued = null;
      return this.#flush();
    });
    this.#queued = queued;
    this.#flushing = queued;
    return queued;
  }

  async #flush(): Promise<number> {
    const { rows } = await this.#db.query<ManifestRow>(
      'SELECT * FROM model_manifests WHERE leaf_index IS NULL ORDER BY created_at, job_id, chain_seq');
    if (rows.length > 0) this.onPublishing?.(rows.length);
    for (const r of rows) {
      // A crash between the append and the update leaves the leaf in the log: find it, never append twice.
      const index = (await this.tlog.findLeaf(r.jws)) ?? (await this.tlog.append(r.jws));
      await this.#db.query('UPDATE model_manifests SET leaf_index = $2 WHERE model_id = $1', [r.model_id, index]);
    }
    return rows.length;
  }

  /** The manifest of a stored artifact, appended to the log first if it is still pending. */
  async manifestOf(modelId: string): Promise<PublishedManifest> {
    let row = await this.#row(modelId);
    if (row.leaf_index === null) {
      await this.flushPending();
      row = await this.#row(modelId);
    }
    if (row.leaf_index === null) throw new PublishingError('PUBLISH_MANIFEST_MISSING', `the manifest of ${modelId} could not be appended to the transparency log`);
    return toPublished(row, Number(row.leaf_index));
  }

  /** The SHA-256 of a model's manifest JWS (what an attestation names as the input model), or null. */
  async manifestDigestOf(modelId: string): Promise<string | null> {
    const { rows } = await this.#db.query<{ digest: string }>('SELECT digest FROM model_manifests WHERE model_id = $1', [modelId]);
    return rows[0]?.digest ?? null;
  }

  /**
   * The stored bytes exactly as they are, without the coordinator's own digest check: what a site
   * downloads is verified there against the signed manifest, and a site that refuses reports the
   * refusal with its code. (The engine's modelBytes refuses a mismatch for its own aggregation.)
   */
  storedBytes(model: ModelRow): Promise<Buffer> {
    return this.#blobs.get(model.blob_key);
  }

  /** Stores the witness verifier key a site sent at Enroll. */
  registerWitnessKey(siteId: string, vkey: string): Promise<void> {
    return registerWitnessKey(this.#db, siteId, vkey);
  }

  /** Merges a site's verified cosignature into the stored checkpoint. */
  acceptCosignature(siteId: string, cosigned: string): Promise<StoredCheckpoint> {
    return acceptCosignature(this.#db, this.tlog, siteId, cosigned);
  }

  /** Everything `writeModelBundle` needs for a stored artifact whose bytes are `model`. */
  async bundleParts(modelId: string, model: Uint8Array): Promise<ModelBundleParts> {
    const { jws } = await this.manifestOf(modelId);
    return this.tlog.bundleParts({ model, manifestJws: jws, jwks: this.jwks() });
  }

  async #row(modelId: string): Promise<ManifestRow> {
    const { rows } = await this.#db.query<ManifestRow>('SELECT * FROM model_manifests WHERE model_id = $1', [modelId]);
    if (!rows[0]) throw new PublishingError('PUBLISH_MANIFEST_MISSING', `model ${modelId} has no signed manifest; it was stored before manifests were introduced and is not distributed`);
    return rows[0];
  }
}
