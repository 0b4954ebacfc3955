import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { AuditError } from '../errors.js';

/** Signs bytes as a compact JWS (payload embedded). The coordinator injects its signer. */
export type JwsSigner = (payload: Uint8Array) => Promise<string>;

/** Asymmetric algorithms only: an audit signature must be checkable by someone who cannot make one. */
export const AUDIT_JWS_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'PS256', 'PS384', 'PS512', 'RS256'] as const;

/** Verifies a compact JWS against a JWKS and returns its payload; throws AUDIT_SIGNATURE_INVALID. */
export async function verifyCompactJws(jws: string, jwks: JSONWebKeySet, what: string): Promise<Uint8Array> {
  try {
    const keys = createLocalJWKSet(jwks);
    const { payload } = await compactVerify(jws.trim(), keys, { algorithms: [...AUDIT_JWS_ALGORITHMS] });
    return payload;
  } catch (err) {
    throw new AuditError('AUDIT_SIGNATURE_INVALID', `${what}: the signature does not verify against the JWKS (${(err as Error).message})`, undefined, { cause: err });
  }
}

export function parseJwks(bytes: Uint8Array, what: string): JSONWebKeySet {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new AuditError('AUDIT_BUNDLE_INVALID', `${what} is not UTF-8 JSON`);
  }
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new AuditError('AUDIT_BUNDLE_INVALID', `${what} must be a JWKS: {"keys": [ ...public JWKs ]}`);
  }
  if (keys.some((k) => typeof k !== 'object' || k === null || 'd' in k || (k as { kty?: unknown }).kty === 'oct')) {
    throw new AuditError('AUDIT_BUNDLE_INVALID', `${what} must hold public keys only (no "d", no symmetric "oct" keys)`);
  }
  return value as JSONWebKeySet;
}
