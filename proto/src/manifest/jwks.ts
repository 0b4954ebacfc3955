import { ManifestError } from './errors.js';

/** An Ed25519 public key as a JWK (RFC 8037). Retired keys stay in the set so old manifests still verify. */
export interface ManifestPublicJwk {
  readonly kty: 'OKP';
  readonly crv: 'Ed25519';
  readonly x: string;
  readonly kid: string;
  readonly alg?: 'EdDSA';
  readonly use?: 'sig';
}

export interface ManifestJwks {
  readonly keys: readonly ManifestPublicJwk[];
}

const B64URL_32_BYTES = /^[A-Za-z0-9_-]{43}$/;
const MAX_KEYS = 100;

/** Validates a trusted key set: Ed25519 public keys only, distinct kids, no private parts. */
export function parseJwks(value: unknown): ManifestJwks {
  const bad = (why: string): never => {
    throw new ManifestError('MANIFEST_JWKS_INVALID', `the trusted key set is invalid: ${why}`);
  };
  if (typeof value !== 'object' || value === null || !Array.isArray((value as { keys?: unknown }).keys)) return bad('expected {"keys": [...]}');
  const keys = (value as { keys: unknown[] }).keys;
  if (keys.length === 0 || keys.length > MAX_KEYS) bad(`it must hold 1 to ${MAX_KEYS} keys, not ${keys.length}`);
  const kids = new Set<string>();
  keys.forEach((k, i) => {
    if (typeof k !== 'object' || k === null) return bad(`keys[${i}] is not an object`);
    const jwk = k as Record<string, unknown>;
    const kid = typeof jwk.kid === 'string' && jwk.kid.length > 0 && jwk.kid.length <= 128 ? jwk.kid : bad(`keys[${i}] has no kid (1 to 128 characters)`);
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') bad(`key ${kid} is not an Ed25519 key (kty OKP, crv Ed25519)`);
    if (typeof jwk.x !== 'string' || !B64URL_32_BYTES.test(jwk.x)) bad(`key ${kid} has no 32-byte base64url x`);
    if ('d' in jwk) bad(`key ${kid} holds a private part (d): publish only public keys`);
    if (jwk.use !== undefined && jwk.use !== 'sig') bad(`key ${kid} has use ${JSON.stringify(jwk.use)}, not sig`);
    if (jwk.alg !== undefined && jwk.alg !== 'EdDSA') bad(`key ${kid} has alg ${JSON.stringify(jwk.alg)}, not EdDSA`);
    if (kids.has(kid)) bad(`kid ${kid} appears twice`);
    kids.add(kid);
  });
  return value as ManifestJwks;
}

export function findJwk(jwks: ManifestJwks, kid: string): ManifestPublicJwk | undefined {
  return jwks.keys.find((k) => k.kid === kid);
}
