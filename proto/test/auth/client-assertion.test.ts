import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { createClientAssertion, jwkThumbprint, publicJwkOf, readClientAssertion, signCompactJws, verifyClientAssertion } from '../../src/auth/index.js';

const NOW = 1_800_000_000;
const AUD = 'https://coordinator.example';

function key() {
  const { privateKey } = generateKeyPairSync('ed25519');
  const publicJwk = publicJwkOf(privateKey);
  return { privateKey, publicJwk, jkt: jwkThumbprint(publicJwk) };
}

function verify(token: string, jwk = key().publicJwk, now = NOW): string {
  try {
    verifyClientAssertion(readClientAssertion(token), jwk, { audience: AUD, now });
    return 'OK';
  } catch (err) {
    return (err as { code: string }).code;
  }
}

describe('client assertions (RFC 7523)', () => {
  it('carries iss = sub = site, the coordinator audience, a jti and at most 60 s of life', () => {
    const k = key();
    const token = createClientAssertion({ privateKey: k.privateKey, siteId: 'site-a', audience: AUD, keyThumbprint: k.jkt, now: NOW });
    const read = readClientAssertion(token);
    expect(read.siteId).toBe('site-a');
    const { jti, exp } = verifyClientAssertion(read, k.publicJwk, { audience: AUD, now: NOW });
    expect(jti.length).toBeGreaterThan(10);
    expect(exp - NOW).toBeLessThanOrEqual(60);
    expect(read.parsed.header.typ).toBe('client-authentication+jwt');
  });

  it('refuses assertions that are expired, too long-lived, for another audience, or signed by another key', () => {
    const k = key();
    const make = (claims: Record<string, unknown>) => signCompactJws({ typ: 'client-authentication+jwt' }, {
      iss: 'site-a', sub: 'site-a', aud: AUD, jti: 'j1', iat: NOW, exp: NOW + 30, ...claims,
    }, k.privateKey);
    expect(verify(make({}), k.publicJwk)).toBe('OK');
    expect(verify(make({ exp: NOW + 3600 }), k.publicJwk)).toBe('AUTH_ASSERTION_INVALID');
    expect(verify(make({ iat: NOW - 100, exp: NOW - 40 }), k.publicJwk)).toBe('AUTH_ASSERTION_INVALID');
    expect(verify(make({ aud: 'https://other.example' }), k.publicJwk)).toBe('AUTH_ASSERTION_INVALID');
    expect(verify(make({ sub: 'site-b' }), k.publicJwk)).toBe('AUTH_ASSERTION_INVALID');
    expect(verify(make({}), key().publicJwk)).toBe('AUTH_ASSERTION_INVALID');
    expect(verify(signCompactJws({ typ: 'at+jwt' }, { iss: 'site-a', sub: 'site-a', aud: AUD, jti: 'j', iat: NOW, exp: NOW + 30 }, k.privateKey), k.publicJwk))
      .toBe('AUTH_ASSERTION_INVALID');
  });
});
