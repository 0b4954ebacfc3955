import { createHash, createPrivateKey, sign } from 'node:crypto';
import type { AttestationPrivateJwk, AttestationStatement } from '../../src/attestation/index.js';

export const sha256Hex = (s: string): string => createHash('sha256').update(s).digest('hex');

export function sampleStatement(overrides: Partial<AttestationStatement> = {}): AttestationStatement {
  return {
    site: 'site-a',
    job: 'job-7',
    round: 3,
    nonce: Buffer.alloc(32, 7).toString('base64url'),
    trainerDigest: sha256Hex('trainer build'),
    sandboxPolicyDigest: sha256Hex('sandbox policy'),
    manifestDigest: sha256Hex('manifest jws'),
    updateSha256: sha256Hex('encrypted update'),
    sandboxed: true,
    ...overrides,
  };
}

/** Signs arbitrary header and payload objects with an Ed25519 JWK, for tokens a real attester would never make. */
export function signRaw(header: Record<string, unknown>, payload: unknown, key: AttestationPrivateJwk): string {
  const h = Buffer.from(JSON.stringify(header)).toString('base64url');
  const p = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const k = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.x, d: key.d }, format: 'jwk' });
  return `${h}.${p}.${sign(null, Buffer.from(`${h}.${p}`, 'ascii'), k).toString('base64url')}`;
}

export function decodePart(jws: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(jws.split('.')[index]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}
