import { createHash } from 'node:crypto';
import { ManifestError } from '../manifest/errors.js';
import type { ManifestJwks } from '../manifest/jwks.js';
import { MODEL_ARTIFACT_KINDS, type ArtifactKind, type Manifest, type ManifestBlob } from '../manifest/manifest.js';
import { verifyManifest } from '../manifest/verify-manifest.js';
import { verifyCheckpoint, type Checkpoint } from '../tlog/checkpoint.js';
import { verifyCosignatures, type Cosignature } from '../tlog/cosignature.js';
import { fromHex } from '../tlog/encoding.js';
import { TlogError } from '../tlog/errors.js';
import { hashLeaf } from '../tlog/hash.js';
import { noteVerifier } from '../tlog/note-keys.js';
import { verifyConsistency } from '../tlog/verify-consistency.js';
import { verifyInclusion } from '../tlog/verify-inclusion.js';
import { BundleError } from './errors.js';
import { parseInclusionProof, type InclusionProof, type InclusionProofJson } from './inclusion-proof.js';

export interface ExpectedArtifact {
  readonly job: string;
  readonly round: number;
  /** Kinds acceptable here; default: the model kinds (encrypted or plaintext global model, released model). */
  readonly kinds?: readonly ArtifactKind[];
  /** The manifest blob the bytes must match; default: the manifest's only blob. */
  readonly blob?: string;
}

export interface VerifyModelArtifactInput {
  /** The exact buffer that will be loaded next: it is hashed here, never re-read. */
  readonly bytes: Uint8Array;
  readonly manifestJws: string;
  /** The signed checkpoint note, cosignatures (if any) included. */
  readonly checkpoint: string;
  readonly inclusionProof: InclusionProof | InclusionProofJson;
  /** Trusted manifest keys; retired keys stay in the set. */
  readonly trustedKeys: ManifestJwks;
  /** The log's signed-note verifier key; its name is the log origin. */
  readonly checkpointVerifierKey: string;
  readonly witnessKeys?: readonly string[];
  readonly requiredCosignatures?: number;
  readonly expected: ExpectedArtifact;
  /** The last checkpoint this agent accepted from the log (a signed note). */
  readonly previousCheckpoint?: string;
  /** Proof that the new checkpoint extends `previousCheckpoint` (hex strings or bytes). */
  readonly consistencyProof?: readonly (Uint8Array | string)[];
  /** POSIX seconds, for cosignature timestamps. */
  readonly now?: number;
}

export interface VerifiedModelArtifact {
  readonly manifest: Manifest;
  readonly kid: string;
  /** SHA-256 (hex) of the manifest JWS: the next manifest's previousManifest. */
  readonly manifestDigest: string;
  readonly blob: ManifestBlob;
  readonly checkpoint: Checkpoint;
  /** Persist it: it is the previousCheckpoint of the next verification. */
  readonly checkpointNote: string;
  readonly leafIndex: number;
  readonly cosignatures: readonly Cosignature[];
}

/**
 * Refuses to let a site load bytes unless they are exactly what a trusted key signed for this job
 * and round, and that statement sits in the log at a checkpoint the log signed, enough witnesses
 * cosigned, and that extends what this site saw before. Every refusal throws a MedfedError whose
 * code names the failed check.
 */
export async function verifyModelArtifact(input: VerifyModelArtifactInput): Promise<VerifiedModelArtifact> {
  const { manifest, kid, digest } = await verifyManifest(input.manifestJws, input.trustedKeys);
  checkIntendedFor(manifest, input.expected);
  const blob = checkBytes(manifest, input.bytes, input.expected.blob);

  const logKey = noteVerifier(input.checkpointVerifierKey);
  const { checkpoint, note } = verifyCheckpoint(input.checkpoint, logKey);
  const required = input.requiredCosignatures ?? 0;
  const cosignatures = required > 0 || (input.witnessKeys?.length ?? 0) > 0
    ? verifyCosignatures(note, { witnessKeys: input.witnessKeys ?? [], required, ...(input.now !== undefined ? { now: input.now } : {}) })
    : [];
  if (input.previousCheckpoint !== undefined) {
    const previous = verifyCheckpoint(input.previousCheckpoint, logKey).checkpoint;
    checkExtends(previous, checkpoint, input.consistencyProof);
  }

  const proof = 'leafIndex' in input.inclusionProof ? input.inclusionProof : parseInclusionProof(input.inclusionProof);
  if (proof.treeSize !== checkpoint.size) {
    throw new TlogError('TLOG_INCLUSION_INVALID', `the inclusion proof is for a tree of size ${proof.treeSize}, the checkpoint for size ${checkpoint.size}`);
  }
  verifyInclusion(proof.leafIndex, proof.treeSize, hashLeaf(Buffer.from(input.manifestJws, 'ascii')), proof.hashes, checkpoint.rootHash);

  return { manifest, kid, manifestDigest: digest, blob, checkpoint, checkpointNote: input.checkpoint, leafIndex: proof.leafIndex, cosignatures };
}

function checkIntendedFor(manifest: Manifest, expected: ExpectedArtifact): void {
  const kinds = expected.kinds ?? MODEL_ARTIFACT_KINDS;
  if (!kinds.includes(manifest.kind)) {
    throw new ManifestError('MANIFEST_WRONG_KIND', `the manifest is for a ${manifest.kind} artifact; expected one of ${kinds.join(', ')}`);
  }
  if (manifest.job !== expected.job) {
    throw new ManifestError('MANIFEST_WRONG_JOB', `the manifest is for job ${JSON.stringify(manifest.job)}, expected ${JSON.stringify(expected.job)}`);
  }
  if (manifest.round < expected.round) {
    throw new ManifestError('MANIFEST_STALE_ROUND', `the manifest is for round ${manifest.round} of job ${manifest.job}, expected round ${expected.round}: an older artifact is being replayed`);
  }
  if (manifest.round > expected.round) {
    throw new ManifestError('MANIFEST_ROUND_MISMATCH', `the manifest is for round ${manifest.round} of job ${manifest.job}, expected round ${expected.round}`);
  }
}

function checkBytes(manifest: Manifest, bytes: Uint8Array, name: string | undefined): ManifestBlob {
  const blob = name === undefined
    ? (manifest.blobs.length === 1 ? manifest.blobs[0] : undefined)
    : manifest.blobs.find((b) => b.name === name);
  if (!blob) {
    throw new BundleError('ARTIFACT_BLOB_UNKNOWN', name === undefined
      ? `the manifest lists ${manifest.blobs.length} blobs (${manifest.blobs.map((b) => b.name).join(', ')}); say which one is being loaded`
      : `the manifest lists no blob named ${JSON.stringify(name)}`);
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (bytes.length !== blob.size || sha256 !== blob.sha256) {
    throw new BundleError('ARTIFACT_DIGEST_MISMATCH', `the artifact bytes (${bytes.length} bytes, SHA-256 ${sha256}) are not blob ${blob.name} of the manifest (${blob.size} bytes, SHA-256 ${blob.sha256}); do not load them`, {
      expected: blob.sha256,
      actual: sha256,
    });
  }
  return blob;
}

function checkExtends(previous: Checkpoint, next: Checkpoint, proof: readonly (Uint8Array | string)[] | undefined): void {
  if (previous.size === 0) return; // every tree extends the empty one
  if (next.size < previous.size) {
    throw new TlogError('TLOG_ROLLBACK', `the checkpoint has ${next.size} leaves but this site already saw ${previous.size}: the log was rolled back or is showing a stale view`);
  }
  if (next.size > previous.size && proof === undefined) {
    throw new TlogError('TLOG_CONSISTENCY_INVALID', `no consistency proof from the previous checkpoint (size ${previous.size}) to this one (size ${next.size}) was given`);
  }
  const hashes = (proof ?? []).map((h, i) => {
    const bytes = typeof h === 'string' ? fromHex(h) : h;
    if (!bytes) throw new TlogError('TLOG_CONSISTENCY_INVALID', `consistency proof hash ${i} is not lowercase hex`);
    return bytes;
  });
  verifyConsistency(previous.size, next.size, hashes, previous.rootHash, next.rootHash);
}
