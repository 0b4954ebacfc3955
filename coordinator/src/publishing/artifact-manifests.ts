import { createHash } from 'node:crypto';
import { canonicalBytes } from '@medfed/proto/audit/index';
import { MANIFEST_VERSION, type Manifest } from '@medfed/proto/manifest/index';
import type { HePublicParams } from '@medfed/proto';
import { POLICY } from '../auth/policy/policy.js';

/**
 * Artifacts that are not models but that sites rely on, published in the job's manifest chain:
 * the HE public parameters of each key epoch and the job's trainer allowlist after each admission.
 * Each one's single blob is the RFC 8785 canonical JSON of the statement, so anyone holding the
 * statement recomputes the digest the manifest signs.
 */
export interface NonModelArtifact {
  /** Unique id in the manifest table (shares the namespace of model ids). */
  readonly id: string;
  readonly jobId: string;
  readonly round: number;
  readonly kind: 'he-public-params' | 'trainer-allowlist';
  readonly blobName: string;
  readonly bytes: Uint8Array;
  readonly paramsDigest: string | null;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The public parameters of an epoch: the manifest's paramsDigest is the parameter set's digest they name. */
export function publicParamsArtifact(jobId: string, round: number, publicParams: HePublicParams): NonModelArtifact {
  return {
    id: `he-params-${jobId}-e${publicParams.epoch}`, jobId, round, kind: 'he-public-params', blobName: 'he-public-params.json',
    bytes: canonicalBytes(publicParams), paramsDigest: publicParams.paramsDigest,
  };
}

/** The job's whole allowlist (spec entries and admitted builds), sorted; one manifest per distinct list. */
export function trainerAllowlistArtifact(jobId: string, round: number, measurements: readonly string[]): NonModelArtifact {
  const list = { format: 'medfed-trainer-allowlist/1', job: jobId, measurements: [...new Set(measurements)].sort() };
  const bytes = canonicalBytes(list);
  return { id: `trainers-${jobId}-${sha256(bytes).slice(0, 24)}`, jobId, round, kind: 'trainer-allowlist', blobName: 'trainer-allowlist.json', bytes, paramsDigest: null };
}

function rfc3339(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

export function buildArtifactManifest(a: NonModelArtifact, previousDigest: string | null, now: Date): Manifest {
  return {
    version: MANIFEST_VERSION,
    kind: a.kind,
    job: a.jobId,
    round: a.round,
    blobs: [{ name: a.blobName, sha256: sha256(a.bytes), size: a.bytes.byteLength }],
    previousManifest: previousDigest,
    contributors: [],
    paramsDigest: a.paramsDigest,
    policyVersion: `medfed-policy-${POLICY.version}`,
    issuedAt: rfc3339(now),
  };
}
