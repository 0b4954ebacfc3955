import { randomUUID } from 'node:crypto';
import { CompactSign, exportJWK, generateKeyPair, importJWK, type JSONWebKeySet, type JWK } from 'jose';
import { AuditError } from '../errors.js';
import type { JwsSigner } from './jws.js';

export interface LocalSigner {
  readonly sign: JwsSigner;
  /** The public half, to ship as the bundle's jwks.json. */
  readonly jwks: JSONWebKeySet;
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** A signer from a private JWK (with "alg" and "kid"), for offline exports straight from a database. */
export async function signerFromPrivateJwk(jwk: JWK): Promise<LocalSigner> {
  if (typeof jwk !== 'object' || jwk === null || !jwk.alg || !jwk.kid || !jwk.d) {
    throw new AuditError('AUDIT_SIGNATURE_INVALID', 'the signing key must be a private JWK with "alg", "kid" and "d"');
  }
  const { alg, kid } = jwk;
  const key = await importJWK(jwk, alg);
  const pub: Record<string, unknown> = { ...jwk, use: 'sig' };
  for (const m of PRIVATE_MEMBERS) delete pub[m];
  return { sign: (payload) => new CompactSign(payload).setProtectedHeader({ alg, kid }).sign(key), jwks: { keys: [pub as JWK] } };
}

/** A fresh ES256 key that lives only as long as the process: integrity without provenance. */
export async function throwawaySigner(): Promise<LocalSigner> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = `throwaway-${randomUUID()}`;
  const pub: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return { sign: (payload) => new CompactSign(payload).setProtectedHeader({ alg: 'ES256', kid }).sign(privateKey), jwks: { keys: [pub] } };
}
