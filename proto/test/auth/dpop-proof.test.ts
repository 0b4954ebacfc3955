import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { generateKeyPairSync } from 'node:crypto';
import {
  accessTokenHash, createDpopProof, grpcHtu, jwkThumbprint, publicJwkOf, signCompactJws, verifyDpopProof,
} from '../../src/auth/index.js';

const RFC_9449_PROOF = 'eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg';

const ed = () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicJwk: publicJwkOf(privateKey) };
};
const NOW = 1_800_000_000;
const HTU = grpcHtu('coordinator.example:9443', '/medfed.v1.Federation/SubmitUpdate');

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'OK';
  } catch (err) {
    return (err as { code: string }).code;
  }
}

describe('DPoP proofs (RFC 9449)', () => {
  it('verifies the ES256 proof of RFC 9449 section 4.1 and yields its key thumbprint', () => {
    const v = verifyDpopProof(RFC_9449_PROOF, { htm: 'POST', htu: ['https://server.example.com/token'], now: 1562262616 });
    expect(v.jkt).toBe('0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I');
    expect(v.jti).toBe('-BwC3ESc6acc2lTc');
  });

  it('names a gRPC method as https://AUTHORITY/package.Service/Method', () => {
    expect(HTU).toBe('https://coordinator.example:9443/medfed.v1.Federation/SubmitUpdate');
  });

  it('round-trips an Ed25519 proof bound to an access token', () => {
    const k = ed();
    const proof = createDpopProof({ ...k, htm: 'POST', htu: HTU, accessToken: 'tok', now: NOW });
    const v = verifyDpopProof(proof, { htm: 'POST', htu: [HTU], accessToken: 'tok', now: NOW + 1 });
    expect(v.jkt).toBe(jwkThumbprint(k.publicJwk));
  });

  it('refuses each kind of misuse with its own code', () => {
    const k = ed();
    const proof = (over: Partial<{ htm: string; htu: string; accessToken: string; now: number }> = {}) =>
      createDpopProof({ ...k, htm: 'POST', htu: HTU, accessToken: 'tok', now: NOW, ...over });
    const expect0 = { htm: 'POST', htu: [HTU], accessToken: 'tok', now: NOW };
    const forge = (header: Record<string, unknown>, claims: Record<string, unknown>) => signCompactJws(header, claims, k.privateKey);
    const claims = { jti: 'j', htm: 'POST', htu: HTU, iat: NOW, ath: accessTokenHash('tok') };
    const cases: [string, string, string][] = [
      ['another method', proof({ htm: 'GET' }), 'AUTH_DPOP_MISMATCH'],
      ['another URL', proof({ htu: grpcHtu('coordinator.example:9443', '/medfed.v1.Federation/PollTask') }), 'AUTH_DPOP_MISMATCH'],
      ['another access token', proof({ accessToken: 'other' }), 'AUTH_DPOP_MISMATCH'],
      ['older than 60 s', proof({ now: NOW - 61 }), 'AUTH_DPOP_STALE'],
      ['dated in the future', proof({ now: NOW + 60 }), 'AUTH_DPOP_STALE'],
      ['typ JWT', forge({ typ: 'JWT', jwk: k.publicJwk }, claims), 'AUTH_DPOP_INVALID'],
      ['no jwk header', forge({ typ: 'dpop+jwt' }, claims), 'AUTH_DPOP_INVALID'],
      ['a jku header', forge({ typ: 'dpop+jwt', jwk: k.publicJwk, jku: 'https://evil.example/jwks' }, claims), 'AUTH_DPOP_INVALID'],
      ['a private key in jwk', forge({ typ: 'dpop+jwt', jwk: { ...k.publicJwk, d: 'AAAA' } }, claims), 'AUTH_DPOP_INVALID'],
      ['no jti', forge({ typ: 'dpop+jwt', jwk: k.publicJwk }, { ...claims, jti: undefined }), 'AUTH_DPOP_INVALID'],
      ['a key other than the signer', forge({ typ: 'dpop+jwt', jwk: ed().publicJwk }, claims), 'AUTH_DPOP_INVALID'],
      ['alg none', `${Buffer.from(JSON.stringify({ typ: 'dpop+jwt', alg: 'none', jwk: k.publicJwk })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`, 'AUTH_DPOP_INVALID'],
      ['not a JWS', 'abc', 'AUTH_DPOP_INVALID'],
    ];
    for (const [name, p, code] of cases) expect([name, codeOf(() => verifyDpopProof(p, expect0))]).toEqual([name, code]);
  });

  it('refuses any proof altered in one character', () => {
    const k = ed();
    const proof = createDpopProof({ ...k, htm: 'POST', htu: HTU, now: NOW });
    fc.assert(fc.property(fc.nat(proof.length - 1), fc.constantFrom(...'ABCabc019-_'), (at, ch) => {
      fc.pre(proof[at] !== ch && proof[at] !== '.');
      const mutated = proof.slice(0, at) + ch + proof.slice(at + 1);
      const code = codeOf(() => verifyDpopProof(mutated, { htm: 'POST', htu: [HTU], now: NOW }));
      // A change in the last character of the signature may only flip unused base64url bits: still the same bytes.
      if (code === 'OK') expect(Buffer.from(mutated.split('.')[2]!, 'base64url')).toEqual(Buffer.from(proof.split('.')[2]!, 'base64url'));
      else expect(code).toMatch(/^AUTH_DPOP_/);
    }), { numRuns: 200 });
  });
});
