import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  ed25519Thumbprint, requireQuorum, signStewardApproval, tallyApprovals, verifyStewardApproval,
  type Ed25519PublicJwk, type StewardApprovalClaims,
} from '../../src/governance/index.js';

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' }) as { x: string };
  const publicJwk: Ed25519PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
  return { privateKey, publicJwk, thumbprint: ed25519Thumbprint(publicJwk) };
}

const NOW = new Date('2026-12-07T12:00:00Z');
const INPUT = 'a'.repeat(64);
const claims = (signer: string, over: Partial<StewardApprovalClaims> = {}): StewardApprovalClaims => ({
  consortium: 'north', job: 'job-1', release: 'rel-1', round: 3, step: 'release', inputSha256: INPUT,
  expiresAt: Math.floor(NOW.getTime() / 1000) + 3600, signerRole: 'steward', signer, ...over,
});
const expected = { consortium: 'north', step: 'release' as const, inputSha256: INPUT, job: 'job-1', release: 'rel-1', round: 3 };

describe('steward approvals: a decision is a signature with a pinned key, over exactly that decision', () => {
  const a = keyPair();
  const b = keyPair();
  const c = keyPair();
  const pins: Record<string, string> = { 'site-a': a.thumbprint, 'site-b': b.thumbprint, 'site-c': c.thumbprint };
  const lookup = (_role: string, signer: string) => pins[signer];
  const rule = { eligible: { steward: ['site-a', 'site-b', 'site-c'] }, threshold: { steward: 2 } };

  it('verifies with the pinned thumbprint and returns the claims', () => {
    const jws = signStewardApproval(claims('site-a'), a);
    expect(verifyStewardApproval(jws, lookup, expected, NOW)).toMatchObject({ signer: 'site-a', release: 'rel-1' });
  });

  it('refuses a signature by a key other than the one pinned for the signer it names', () => {
    const forged = signStewardApproval(claims('site-a'), keyPair());
    expect(() => verifyStewardApproval(forged, lookup, expected, NOW)).toThrow(expect.objectContaining({ code: 'STEWARD_APPROVAL_SIGNATURE_INVALID' }));
  });

  it('refuses a signer nobody pinned', () => {
    const jws = signStewardApproval(claims('site-x'), keyPair());
    expect(() => verifyStewardApproval(jws, lookup, expected, NOW)).toThrow(expect.objectContaining({ code: 'STEWARD_APPROVAL_SIGNATURE_INVALID' }));
  });

  it('refuses an approval for another release, round or input digest', () => {
    for (const over of [{ release: 'rel-2' }, { round: 4 }, { inputSha256: 'b'.repeat(64) }, { consortium: 'south' }]) {
      const jws = signStewardApproval(claims('site-a', over), a);
      expect(() => verifyStewardApproval(jws, lookup, expected, NOW)).toThrow(expect.objectContaining({ code: 'STEWARD_APPROVAL_MISMATCH' }));
    }
  });

  it('refuses an expired approval and one valid for longer than 30 days', () => {
    const past = signStewardApproval(claims('site-a', { expiresAt: Math.floor(NOW.getTime() / 1000) - 1 }), a);
    const far = signStewardApproval(claims('site-a', { expiresAt: Math.floor(NOW.getTime() / 1000) + 31 * 86400 }), a);
    for (const jws of [past, far]) expect(() => verifyStewardApproval(jws, lookup, expected, NOW)).toThrow(expect.objectContaining({ code: 'STEWARD_APPROVAL_EXPIRED' }));
  });

  it('refuses a payload altered after signing, and one that is not in canonical form', () => {
    const jws = signStewardApproval(claims('site-a'), a);
    const [h, , s] = jws.split('.');
    const altered = Buffer.from(JSON.stringify({ ...claims('site-a'), round: 4 })).toString('base64url');
    expect(() => verifyStewardApproval(`${h}.${altered}.${s}`, lookup, { ...expected, round: 4 }, NOW)).toThrow(expect.objectContaining({ code: 'STEWARD_APPROVAL_INVALID' }));
  });

  it('counts distinct eligible signers once, reports the rest, and reaches the majority only with two sites', () => {
    const one = signStewardApproval(claims('site-a'), a);
    const again = signStewardApproval(claims('site-a'), a);
    const bad = signStewardApproval(claims('site-b'), c);
    const short = tallyApprovals([one, again, bad], lookup, expected, rule, NOW);
    expect(short).toMatchObject({ reached: false, signed: { steward: ['site-a'] } });
    expect(short.rejected.map((r) => r.code)).toEqual(['STEWARD_APPROVAL_SIGNATURE_INVALID']);
    expect(() => requireQuorum('release rel-1', [one, bad], lookup, expected, rule, NOW)).toThrow(expect.objectContaining({ code: 'APPROVAL_QUORUM_NOT_MET' }));
    const two = signStewardApproval(claims('site-b'), b);
    expect(requireQuorum('release rel-1', [one, two], lookup, expected, rule, NOW).signed.steward).toEqual(['site-a', 'site-b']);
  });
});
