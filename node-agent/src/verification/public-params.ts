import { createHash } from 'node:crypto';
import { paramSetDigest } from '@medfed/proto';
import { canonicalBytes } from '@medfed/proto/audit/index';
import { verifyManifest } from '@medfed/proto/manifest/index';
import { TrustError } from './errors.js';
import type { TrustAnchors } from './trust-anchors.js';

/** What a task says about the key epoch the agent is about to use. */
export interface ExpectedPublicParams {
  readonly job: string;
  readonly epoch: number;
  readonly paramSet: string;
  readonly keyId: string;
}

/**
 * Before an agent encrypts or decrypts under an epoch's settings: the epoch's public parameters
 * must come with their `he-public-params` manifest signed by a pinned manifest key, the manifest's
 * blob must be the canonical JSON of exactly these parameters, and they must name the job, epoch,
 * parameter set and key id the task announces. A coordinator whose stored settings were altered
 * (or restored from another state) without a matching signed manifest is refused.
 */
export async function checkPublicParams(anchors: TrustAnchors, expected: ExpectedPublicParams, publicParams: unknown, manifestJws: string | undefined): Promise<void> {
  if (!manifestJws || typeof publicParams !== 'object' || publicParams === null) {
    throw new TrustError('TRUST_EVIDENCE_MISSING', `job ${expected.job} epoch ${expected.epoch}: the task carries no signed he-public-params manifest; refusing to use its keys`);
  }
  const { manifest } = await verifyManifest(manifestJws, anchors.jwks);
  const pp = publicParams as Record<string, unknown>;
  const digest = paramSetDigest(expected.paramSet);
  const blobSha256 = createHash('sha256').update(canonicalBytes(publicParams)).digest('hex');
  const mismatches = [
    ['kind', manifest.kind, 'he-public-params'], ['manifest job', manifest.job, expected.job],
    ['manifest blob', manifest.blobs.length === 1 ? manifest.blobs[0]!.sha256 : '(not one blob)', blobSha256],
    ['manifest paramsDigest', manifest.paramsDigest, digest],
    ['job', pp.job, expected.job], ['epoch', pp.epoch, expected.epoch], ['paramSetId', pp.paramSetId, expected.paramSet],
    ['paramsDigest', pp.paramsDigest, digest], ['keyId', pp.keyId, expected.keyId],
  ].filter(([, actual, wanted]) => actual !== wanted);
  if (mismatches.length > 0) {
    throw new TrustError('TRUST_PARAMS_MISMATCH', `job ${expected.job} epoch ${expected.epoch}: the public parameters do not match their signed manifest and the task: ${
      mismatches.map(([name, actual, wanted]) => `${String(name)}=${JSON.stringify(actual)} (expected ${JSON.stringify(wanted)})`).join(', ')}`);
  }
}
