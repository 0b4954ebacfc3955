import { describe, expect, it } from '@jest/globals';
import { checkAlg, checkHeaderParams, checkTyp, parseCompactJws, type JwsProfile } from '../../src/auth/index.js';

const PROFILE: JwsProfile = {
  what: 'access token', typ: 'at+jwt',
  codes: { malformed: 'AUTH_MALFORMED', alg: 'AUTH_ALG_FORBIDDEN', header: 'AUTH_HEADER_FORBIDDEN', typ: 'AUTH_TYP_INVALID', signature: 'AUTH_SIGNATURE_INVALID' },
};

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'OK';
  } catch (err) {
    return (err as { code: string }).code;
  }
}

describe('compact JWS header rules', () => {
  it.each(['none', 'None', 'NONE', 'nOnE', 'HS256', 'HS512', 'RS256', 'PS256', 'ES384', '', 7, null])('refuses alg %p', (alg) => {
    expect(codeOf(() => checkAlg({ alg }, PROFILE))).toBe('AUTH_ALG_FORBIDDEN');
  });

  it('accepts exactly EdDSA and ES256', () => {
    expect(checkAlg({ alg: 'EdDSA' }, PROFILE)).toBe('EdDSA');
    expect(checkAlg({ alg: 'ES256' }, PROFILE)).toBe('ES256');
  });

  it.each(['jku', 'x5u', 'jwk', 'x5c', 'x5t', 'crit', 'b64'])('refuses a %s header parameter', (name) => {
    expect(codeOf(() => checkHeaderParams({ alg: 'EdDSA', [name]: 'x' }, PROFILE))).toBe('AUTH_HEADER_FORBIDDEN');
  });

  it('compares typ as RFC 7515 says and refuses other kinds', () => {
    expect(codeOf(() => checkTyp({ typ: 'application/AT+JWT' }, PROFILE))).toBe('OK');
    for (const typ of ['JWT', 'dpop+jwt', 'medfed-manifest+jws', undefined, 5]) {
      expect(codeOf(() => checkTyp({ typ }, PROFILE))).toBe('AUTH_TYP_INVALID');
    }
  });

  it.each([
    ['two parts', `${b64({ alg: 'EdDSA' })}.${b64({})}`],
    ['four parts', `${b64({ alg: 'EdDSA' })}.${b64({})}.a.b`],
    ['a header that is not JSON', `${b64('{nope')}.${b64({})}.AAAA`],
    ['a header that is an array', `${b64([1])}.${b64({})}.AAAA`],
    ['claims that are a string', `${b64({ alg: 'EdDSA' })}.${b64('"x"')}.AAAA`],
    ['characters outside base64url', `${b64({ alg: 'EdDSA' })}.${b64({})}.AA+A`],
    ['more than 8 KiB', `${b64({ alg: 'EdDSA' })}.${b64({ pad: 'x'.repeat(9000) })}.AAAA`],
    ['an empty string', ''],
  ])('refuses %s as malformed', (_what, token) => {
    expect(codeOf(() => parseCompactJws(token, PROFILE))).toBe('AUTH_MALFORMED');
  });
});
