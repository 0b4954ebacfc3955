import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { jwkThumbprint, parsePublicJwk, publicJwkOf } from '../../src/auth/index.js';

describe('public JWKs and RFC 7638 thumbprints', () => {
  it('matches the Ed25519 thumbprint of RFC 8037 appendix A.3', () => {
    const jwk = parsePublicJwk({ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }, 'key', 'AUTH_MALFORMED');
    expect(jwkThumbprint(jwk)).toBe('kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
  });

  it('matches the P-256 thumbprint of RFC 9449 section 6.1', () => {
    const jwk = parsePublicJwk({
      kty: 'EC', crv: 'P-256', x: 'l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs', y: '9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA',
    }, 'key', 'AUTH_MALFORMED');
    expect(jwkThumbprint(jwk)).toBe('0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I');
  });

  it('ignores members outside the required set, so the thumbprint names the key only', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const jwk = publicJwkOf(publicKey);
    const decorated = parsePublicJwk({ ...jwk, kid: 'x', use: 'sig', alg: 'EdDSA' }, 'key', 'AUTH_MALFORMED');
    expect(jwkThumbprint(decorated)).toBe(jwkThumbprint(jwk));
  });

  it.each([
    ['a private key', { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A' }],
    ['a symmetric key', { kty: 'oct', k: 'c2VjcmV0' }],
    ['an RSA key', { kty: 'RSA', n: 'abc', e: 'AQAB' }],
    ['a short x', { kty: 'OKP', crv: 'Ed25519', x: 'abc' }],
    ['another curve', { kty: 'OKP', crv: 'X25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }],
    ['not an object', 'eyJ'],
  ])('refuses %s', (_what, value) => {
    expect(() => parsePublicJwk(value, 'key', 'AUTH_DPOP_INVALID')).toThrow(expect.objectContaining({ code: 'AUTH_DPOP_INVALID' }));
  });
});
