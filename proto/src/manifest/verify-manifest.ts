import { createHash } from 'node:crypto';
import { compactVerify, importJWK } from 'jose';
import { ManifestError } from './errors.js';
import { findJwk, parseJwks, type ManifestJwks } from './jwks.js';
import { MANIFEST_TYP, type Manifest } from './manifest.js';
import { validateManifest } from './validate-manifest.js';

/** Header parameters that let a token choose its own key or change how it is processed. */
const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c', 'crit', 'b64'] as const;
// An empty signature part is let through here so that alg "none" is refused by name below.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;
const MAX_JWS_LENGTH = 1 << 20;

export interface VerifiedManifest {
  readonly manifest: Manifest;
  readonly kid: string;
  /** SHA-256 (hex) of the compact JWS bytes: what the next manifest's previousManifest names. */
  readonly digest: string;
}

/**
 * Verifies a manifest JWS against a trusted JWKS. The header is checked before any cryptography:
 * alg pinned to EdDSA, typ pinned, key-redirecting and critical headers refused, kid required and
 * known. Then the signature, then the payload schema.
 */
export async function verifyManifest(jws: string, trustedKeys: ManifestJwks): Promise<VerifiedManifest> {
  const jwks = parseJwks(trustedKeys);
  if (jws.length > MAX_JWS_LENGTH || !COMPACT_JWS.test(jws)) {
    throw new ManifestError('MANIFEST_MALFORMED', 'the manifest is not a compact JWS (header.payload.signature in base64url, at most 1 MiB)');
  }
  const header = decodeHeader(jws.slice(0, jws.indexOf('.')));
  const forbidden = FORBIDDEN_HEADERS.filter((h) => Object.hasOwn(header, h));
  if (forbidden.length > 0) {
    throw new ManifestError('MANIFEST_HEADER_FORBIDDEN', `the manifest header carries ${forbidden.join(', ')}; keys come only from the trusted JWKS`);
  }
  if (header.alg !== 'EdDSA') {
    throw new ManifestError('MANIFEST_ALG_INVALID', `the manifest alg is ${JSON.stringify(header.alg)}; only EdDSA (Ed25519) is accepted`);
  }
  if (header.typ !== MANIFEST_TYP) {
    throw new ManifestError('MANIFEST_TYP_INVALID', `the manifest typ is ${JSON.stringify(header.typ)}, expected ${MANIFEST_TYP}`);
  }
  const kid = header.kid;
  const jwk = typeof kid === 'string' ? findJwk(jwks, kid) : undefined;
  if (typeof kid !== 'string' || !jwk) {
    throw new ManifestError('MANIFEST_KEY_UNKNOWN', `the manifest was signed by kid ${JSON.stringify(kid)}, which is not in the trusted key set (${jwks.keys.map((k) => k.kid).join(', ')})`);
  }
  let payload: Uint8Array;
  try {
    const key = await importJWK({ kty: 'OKP', crv: 'Ed25519', x: jwk.x }, 'EdDSA');
    ({ payload } = await compactVerify(jws, key, { algorithms: ['EdDSA'] }));
  } catch (err) {
    throw new ManifestError('MANIFEST_SIGNATURE_INVALID', `the manifest signature does not verify with trusted key ${kid}: the manifest was altered or signed by another key`, { kid }, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (err) {
    throw new ManifestError('MANIFEST_SCHEMA_INVALID', 'the manifest payload is not UTF-8 JSON', undefined, { cause: err });
  }
  return { manifest: validateManifest(parsed), kid, digest: createHash('sha256').update(jws, 'ascii').digest('hex') };
}

function decodeHeader(part: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(part, 'base64url')));
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through to the refusal below
  }
  throw new ManifestError('MANIFEST_MALFORMED', 'the manifest protected header is not a base64url JSON object');
}
