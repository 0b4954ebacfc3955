import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { ed25519Thumbprint, signStewardApproval, type Ed25519PublicJwk } from '@medfed/proto/governance/index';
import { releaseDeciders, requireReleaseApprovals, type ReleaseApprovalTrust } from '../../src/governance/release-approvals.js';

const release = { job: 'job-1', release: 'rel-1', round: 2, inputSha256: 'ab'.repeat(32) };
const spec = { sites: ['site-b', 'site-a', 'site-c'], evaluators: ['site-d', 'site-e'] };

function keyOf() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicJwk: publicKey.export({ format: 'jwk' }) as Ed25519PublicJwk };
}
const stewards = new Map(['site-a', 'site-b', 'site-c', 'site-d', 'site-e'].map((s) => [s, keyOf()]));
const trust: ReleaseApprovalTrust = {
  consortium: 'cardio',
  stewardKeys: new Map([...stewards].map(([s, k]) => [s, { stewardKeyThumbprint: ed25519Thumbprint(k.publicJwk) }])),
};
const sign = (site: string, over: Record<string, unknown> = {}, key = stewards.get(site)!) => signStewardApproval({
  consortium: 'cardio', job: 'job-1', release: 'rel-1', round: 2, step: 'release', inputSha256: 'ab'.repeat(32),
  expiresAt: Math.floor(Date.now() / 1000) + 600, signerRole: 'steward', signer: site, ...over,
}, key);
const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return 'OK';
  } catch (err) {
    return (err as { code: string }).code;
  }
};

describe("a site's check of a release's stewards' signatures", () => {
  it('decides with the job\'s training sites and evaluators, each once, from the spec', () => {
    expect(releaseDeciders(spec)).toEqual(['site-a', 'site-b', 'site-c', 'site-d', 'site-e']);
    expect(releaseDeciders({ sites: ['x', 'y', 'x'] })).toEqual(['x', 'y']);
  });

  it('passes with signatures of a majority of those sites (3 of 5, evaluators included)', () => {
    const result = requireReleaseApprovals({ ...release, approvals: [sign('site-a'), sign('site-d'), sign('site-e')] }, spec, trust);
    expect(result.signed.steward).toEqual(['site-a', 'site-d', 'site-e']);
  });

  it('refuses with APPROVAL_QUORUM_NOT_MET short of a majority, counting a site that signed twice once', () => {
    expect(codeOf(() => requireReleaseApprovals({ ...release, approvals: [sign('site-a'), sign('site-a'), sign('site-b')] }, spec, trust))).toBe('APPROVAL_QUORUM_NOT_MET');
    expect(codeOf(() => requireReleaseApprovals({ ...release, approvals: [] }, spec, trust))).toBe('APPROVAL_QUORUM_NOT_MET');
  });

  it('counts no approval signed with a key other than the one pinned for its signer, nor from a site outside the job', () => {
    const other = keyOf();
    const outsider = new Map(trust.stewardKeys).set('site-x', { stewardKeyThumbprint: ed25519Thumbprint(other.publicJwk) });
    const approvals = [sign('site-a'), sign('site-b'), sign('site-c', {}, other), sign('site-x', {}, other)];
    let message = '';
    try {
      requireReleaseApprovals({ ...release, approvals }, spec, { ...trust, stewardKeys: outsider });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('steward site-c (STEWARD_APPROVAL_SIGNATURE_INVALID)');
    expect(message).toContain('steward site-x (STEWARD_APPROVAL_MISMATCH)');
    expect(message).toContain('stewards: 2 of 3 needed');
  });

  it('counts no approval for another consortium, release, round or input digest, nor an expired one', () => {
    for (const over of [{ consortium: 'other' }, { release: 'rel-2' }, { round: 1 }, { inputSha256: 'cd'.repeat(32) }, { expiresAt: Math.floor(Date.now() / 1000) - 1 }]) {
      const approvals = [sign('site-a'), sign('site-b'), sign('site-c', over)];
      expect([over, codeOf(() => requireReleaseApprovals({ ...release, approvals }, spec, trust))]).toEqual([over, 'APPROVAL_QUORUM_NOT_MET']);
    }
    expect(codeOf(() => requireReleaseApprovals({ ...release, approvals: [sign('site-a'), sign('site-b'), sign('site-c')] }, spec, trust))).toBe('OK');
  });
});
