import { sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { FORBIDDEN_HEADER_PARAMS, MAX_JWS_BYTES, SIGNATURE_ALGS, type SignatureAlg } from './constants.js';
import { AuthError, type AuthErrorCode } from './errors.js';

/** A compact JWS split into its parts; the signature is not checked yet. */
export interface ParsedJws {
  readonly header: Readonly<Record<string, unknown>>;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly signingInput: string;
  readonly signature: Buffer;
}

/** Which code each kind of refusal of one credential kind gets, and how messages name it. */
export interface JwsProfile {
  readonly what: string;
  readonly typ: string;
  readonly codes: {
    readonly malformed: AuthErrorCode;
    readonly alg: AuthErrorCode;
    readonly header: AuthErrorCode;
    readonly typ: AuthErrorCode;
    readonly signature: AuthErrorCode;
  };
}

const B64URL = /^[A-Za-z0-9_-]*$/;

function jsonObject(part: string, what: string, code: AuthErrorCode, name: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new AuthError(code, `${what}: the ${name} is not base64url-encoded JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AuthError(code, `${what}: the ${name} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Splits a compact JWS strictly: three base64url parts, JSON object header and claims, bounded size. */
export function parseCompactJws(token: unknown, profile: JwsProfile): ParsedJws {
  const code = profile.codes.malformed;
  if (typeof token !== 'string' || token.length === 0) throw new AuthError(code, `${profile.what}: expected a compact JWS string`);
  if (token.length > MAX_JWS_BYTES) throw new AuthError(code, `${profile.what}: ${token.length} bytes exceeds the ${MAX_JWS_BYTES}-byte limit`);
  const parts = token.split('.');
  if (parts.length !== 3) throw new AuthError(code, `${profile.what}: a compact JWS has 3 dot-separated parts, this has ${parts.length}`);
  const [h, p, s] = parts as [string, string, string];
  if (!B64URL.test(h) || !B64URL.test(p) || !B64URL.test(s)) throw new AuthError(code, `${profile.what}: a part is not base64url`);
  return {
    header: jsonObject(h, profile.what, code, 'header'),
    claims: jsonObject(p, profile.what, code, 'claims part'),
    signingInput: `${h}.${p}`,
    signature: Buffer.from(s, 'base64url'),
  };
}

/** alg must be exactly one of the asymmetric algorithms we accept; `none` in any spelling and HMAC never are. */
export function checkAlg(header: Readonly<Record<string, unknown>>, profile: JwsProfile): SignatureAlg {
  const alg = header.alg;
  if (typeof alg === 'string' && (SIGNATURE_ALGS as readonly string[]).includes(alg)) return alg as SignatureAlg;
  const shown = JSON.stringify(alg) ?? 'undefined';
  const why = typeof alg === 'string' && /^none$/i.test(alg) ? 'unsigned tokens (alg none) are never accepted'
    : typeof alg === 'string' && /^HS/i.test(alg) ? 'symmetric (HMAC) algorithms are never accepted'
      : `only ${SIGNATURE_ALGS.join(' and ')} are accepted`;
  throw new AuthError(profile.codes.alg, `${profile.what}: alg ${shown} refused: ${why}`);
}

/** Refuses header parameters that would let the token pick its key or alter processing. */
export function checkHeaderParams(header: Readonly<Record<string, unknown>>, profile: JwsProfile, allowed: readonly string[] = []): void {
  for (const name of FORBIDDEN_HEADER_PARAMS) {
    if (!allowed.includes(name) && Object.hasOwn(header, name)) {
      throw new AuthError(profile.codes.header, `${profile.what}: header parameter "${name}" is not accepted; keys come only from this coordinator's own key set`);
    }
  }
}

/** typ compared as RFC 7515 §4.1.9 says: case-insensitively, with an optional "application/" prefix. */
export function checkTyp(header: Readonly<Record<string, unknown>>, profile: JwsProfile): void {
  const typ = header.typ;
  const normalized = typeof typ === 'string' ? typ.toLowerCase().replace(/^application\//, '') : null;
  if (normalized !== profile.typ) {
    throw new AuthError(profile.codes.typ, `${profile.what}: typ ${JSON.stringify(typ) ?? 'missing'} is not ${profile.typ}; another kind of token was presented`);
  }
}

/** Verifies an EdDSA (Ed25519) or ES256 (P-256, r||s) signature. */
export function signatureValid(parsed: ParsedJws, alg: SignatureAlg, key: KeyObject): boolean {
  const data = Buffer.from(parsed.signingInput, 'ascii');
  try {
    if (alg === 'EdDSA') return parsed.signature.length === 64 && cryptoVerify(null, data, key, parsed.signature);
    return parsed.signature.length === 64 && cryptoVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, parsed.signature);
  } catch {
    return false; // a key of another type than the alg: not a valid signature
  }
}

/** The algorithm a private key signs with. */
export function algOfKey(key: KeyObject): SignatureAlg {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new AuthError('AUTH_SIGNING_KEY_INVALID', `a ${key.asymmetricKeyType ?? 'symmetric'} key cannot sign medfed credentials; use Ed25519 or P-256`);
}

/** Signs header and claims as a compact JWS with an in-process private key (the agent's key, DPoP proofs). */
export function signCompactJws(header: Readonly<Record<string, unknown>>, claims: Readonly<Record<string, unknown>>, privateKey: KeyObject): string {
  const alg = algOfKey(privateKey);
  const h = Buffer.from(JSON.stringify({ ...header, alg })).toString('base64url');
  const p = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const input = Buffer.from(`${h}.${p}`, 'ascii');
  const sig = alg === 'EdDSA' ? cryptoSign(null, input, privateKey) : cryptoSign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${h}.${p}.${sig.toString('base64url')}`;
}
