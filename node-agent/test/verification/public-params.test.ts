import { beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { paramSetDigest, type HePublicParams } from '@medfed/proto';
import { canonicalBytes } from '@medfed/proto/audit/index';
import { ed25519Signer, generateManifestKeyPair, signManifest, type Manifest, type ManifestJwks, type Signer } from '@medfed/proto/manifest/index';
import { checkPublicParams } from '../../src/verification/public-params.js';
import type { TrustAnchors } from '../../src/verification/trust-anchors.js';
import { codeOf } from '../../../test/support/error-code.js';

const PARAM_SET = 'bfv-n4096-q60-t48-2x23';
const params: HePublicParams = {
  format: 'medfed-he-public-params/1', job: 'job-1', epoch: 2, paramSetId: PARAM_SET, paramsDigest: paramSetDigest(PARAM_SET),
  keyId: '0123456789abcdef0123456789abcdef', sites: ['site-a', 'site-b', 'site-c'], generatingSiteId: 'site-a',
};
const expected = { job: 'job-1', epoch: 2, paramSet: PARAM_SET, keyId: params.keyId };

function manifestOf(p: unknown, overrides: Partial<Manifest> = {}): Manifest {
  const bytes = canonicalBytes(p);
  return {
    version: 1, kind: 'he-public-params', job: 'job-1', round: 3,
    blobs: [{ name: 'he-public-params.json', sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.byteLength }],
    previousManifest: null, contributors: [], paramsDigest: paramSetDigest(PARAM_SET), policyVersion: 'medfed-policy-1', issuedAt: '2026-01-01T00:00:00Z', ...overrides,
  };
}

describe("an epoch's public parameters are used only under their signed manifest", () => {
  let anchors: TrustAnchors;
  let signer: Signer;
  let stranger: Signer;

  beforeAll(async () => {
    const pair = await generateManifestKeyPair('coordinator-1');
    signer = await ed25519Signer(pair.privateJwk);
    stranger = await ed25519Signer((await generateManifestKeyPair('coordinator-1')).privateJwk);
    anchors = { jwks: { keys: [pair.publicJwk] } as ManifestJwks, checkpointKey: 'unused', witnesses: { keys: [], required: 0 } };
  });

  it('accepts matching parameters and refuses every mismatch with its code', async () => {
    expect(await codeOf(checkPublicParams(anchors, expected, params, await signManifest(manifestOf(params), signer)))).toBe('OK');
    // No manifest at all.
    expect(await codeOf(checkPublicParams(anchors, expected, params, undefined))).toBe('TRUST_EVIDENCE_MISSING');
    // Signed by a key that is not pinned.
    expect(await codeOf(checkPublicParams(anchors, expected, params, await signManifest(manifestOf(params), stranger)))).toBe('MANIFEST_SIGNATURE_INVALID');
    // Another key id than the signed one (a coordinator swapping in a key of its own).
    const swapped = { ...params, keyId: 'f'.repeat(32) };
    expect(await codeOf(checkPublicParams(anchors, { ...expected, keyId: swapped.keyId }, swapped, await signManifest(manifestOf(params), signer)))).toBe('TRUST_PARAMS_MISMATCH');
    // A consistent manifest for other parameters than the task announces.
    expect(await codeOf(checkPublicParams(anchors, { ...expected, epoch: 3 }, params, await signManifest(manifestOf(params), signer)))).toBe('TRUST_PARAMS_MISMATCH');
    // Another artifact kind.
    expect(await codeOf(checkPublicParams(anchors, expected, params, await signManifest(manifestOf(params, { kind: 'trainer-allowlist' }), signer)))).toBe('TRUST_PARAMS_MISMATCH');
  });
});
