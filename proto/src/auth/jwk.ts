import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { SignatureAlg } from './constants.js';
import { AuthError, type AuthErrorCode } from './errors.js';

/** A public signing key as a JWK: Ed25519 (RFC 8037) or P-256 (RFC 7518). */
export type PublicJwk =
  | { readonly kty: 'OKP'; readonly crv: 'Ed25519'; readonly x: string; readonly kid?: string; readonly alg?: string; readonly use?: string }
  | { readonly kty: 'EC'; readonly crv: 'P-256'; readonly x: string; readonly y: string; readonly kid?: string; readonly alg?: string; readonly use?: string };

const B64URL_32 = /^[A-Za-z0-9_-]{43}$/;

/** Validates a public JWK; anything else (private parts, other curves, symmetric keys) is refused with `code`. */
export function parsePublicJwk(value: unknown, what: string, code: AuthErrorCode): PublicJwk {
  const bad = (why: string): never => {
    throw new AuthError(code, `${what}: ${why}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('the key is not a JWK object');
  const jwk = value as Record<string, unknown>;
  if ('d' in jwk || 'p' in jwk || 'k' in jwk) bad('the key carries private or symmetric material; only public keys are accepted');
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') {
    if (typeof jwk.x !== 'string' || !B64URL_32.test(jwk.x)) bad('x must be 32 bytes of base64url');
    return { kty: 'OKP', crv: 'Ed25519', x: jwk.x as string };
  }
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') {
    if (typeof jwk.x !== 'string' || !B64URL_32.test(jwk.x) || typeof jwk.y !== 'string' || !B64URL_32.test(jwk.y)) {
      bad('x and y must be 32 bytes of base64url each');
    }
    return { kty: 'EC', crv: 'P-256', x: jwk.x as string, y: jwk.y as string };
  }
  return bad(`kty ${JSON.stringify(jwk.kty)} / crv ${JSON.stringify(jwk.crv)} is not Ed25519 (OKP) or P-256 (EC)`);
}

/** RFC 7638 thumbprint (SHA-256, base64url): the required members in lexicographic order, no whitespace. */
export function jwkThumbprint(jwk: PublicJwk): string {
  const canonical = jwk.kty === 'OKP'
    ? `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}"}`
    : `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

/** The one algorithm a key may sign with: a key never doubles for another algorithm. */
export function algForJwk(jwk: PublicJwk): SignatureAlg {
  return jwk.kty === 'OKP' ? 'EdDSA' : 'ES256';
}

export function publicKeyFromJwk(jwk: PublicJwk): KeyObject {
  const material = jwk.kty === 'OKP' ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x } : { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
  return createPublicKey({ key: material, format: 'jwk' });
}

/** The public JWK of a key object (private or public), with only the members that identify the key. */
export function publicJwkOf(key: KeyObject): PublicJwk {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = pub.export({ format: 'jwk' }) as Record<string, unknown>;
  return parsePublicJwk(jwk, 'signing key', 'AUTH_SIGNING_KEY_INVALID');
}
