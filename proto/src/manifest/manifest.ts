/**
 * A manifest states which bytes the coordinator published for a job and round. Its compact JWS is
 * the leaf of the transparency log, so one signed statement is both what sites verify and what the
 * log makes public.
 */
export const MANIFEST_TYP = 'medfed-manifest+jws';
export const MANIFEST_VERSION = 1;

export const ARTIFACT_KINDS = [
  /** The HE-encrypted global model a round hands to its trainers. */
  'encrypted-global-model',
  /** A plaintext global model of a round (jobs without encryption). */
  'global-model',
  /** A model released after the job (decrypted under the job's policy). */
  'released-model',
  'he-public-params',
  'trainer-allowlist',
] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

/** Kinds a site may load as model weights. */
export const MODEL_ARTIFACT_KINDS: readonly ArtifactKind[] = ['encrypted-global-model', 'global-model', 'released-model'];

export interface ManifestBlob {
  /** Logical name within the artifact, e.g. `model.bin`. */
  readonly name: string;
  /** SHA-256 of the exact bytes, lowercase hex. */
  readonly sha256: string;
  readonly size: number;
}

export interface ManifestContributor {
  readonly site: string;
  /** SHA-256 of the site's contribution (update) that went into this artifact. */
  readonly sha256: string;
}

export interface Manifest {
  readonly version: typeof MANIFEST_VERSION;
  readonly kind: ArtifactKind;
  readonly job: string;
  readonly round: number;
  readonly blobs: readonly ManifestBlob[];
  /** SHA-256 (hex) of the previous manifest's compact JWS bytes in this job's chain; null for the first. */
  readonly previousManifest: string | null;
  readonly contributors: readonly ManifestContributor[];
  /** SHA-256 (hex) of the homomorphic-encryption parameter set in force; null when unencrypted. */
  readonly paramsDigest: string | null;
  readonly policyVersion: string;
  /** RFC 3339 UTC time of issue, e.g. 2025-01-31T12:00:00Z. */
  readonly issuedAt: string;
}
