import { createPrivateKey, sign } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { Attester } from './attester.js';
import { parseAttestationPrivateJwk, publicAttestationJwk, type AttestationPrivateJwk } from './attestation-key.js';
import {
  ATTESTATION_DEFAULT_TTL_SECONDS,
  ATTESTATION_MAX_LIFETIME_SECONDS,
  ATTESTATION_TYP,
  ATTESTATION_VERSION,
  type AttestationClaims,
  type AttestationStatement,
} from './claims.js';
import { AttestationError } from './errors.js';
import { validateAttestationStatement } from './validate-claims.js';

export interface SoftwareAttesterOptions {
  /** Validity of each attestation, seconds (default 600, at most 3600). */
  readonly ttlSeconds?: number;
  /** Clock in milliseconds (tests). */
  readonly now?: () => number;
}

/**
 * The software attester: the agent signs the statement with its own Ed25519 attestation key.
 * It proves which node speaks and what configuration it reports; it cannot prove that the host is
 * uncompromised (see SOFTWARE_ATTESTATION_NOTICE).
 */
export function createSoftwareAttester(privateJwk: AttestationPrivateJwk, options: SoftwareAttesterOptions = {}): Attester {
  const jwk = parseAttestationPrivateJwk(privateJwk);
  const ttl = options.ttlSeconds ?? ATTESTATION_DEFAULT_TTL_SECONDS;
  if (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > ATTESTATION_MAX_LIFETIME_SECONDS) {
    throw new AttestationError('ATTESTATION_CLAIMS_INVALID', `ttlSeconds must be an integer from 1 to ${ATTESTATION_MAX_LIFETIME_SECONDS}, got ${ttl}`);
  }
  const key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d }, format: 'jwk' });
  const now = options.now ?? Date.now;
  return {
    kind: 'software',
    kid: jwk.kid,
    publicJwk: publicAttestationJwk(jwk),
    async attest(statement: AttestationStatement): Promise<string> {
      const checked = validateAttestationStatement(statement);
      const iat = Math.floor(now() / 1000);
      const claims: AttestationClaims = { ...checked, v: ATTESTATION_VERSION, attester: 'software', iat, exp: iat + ttl };
      const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: ATTESTATION_TYP, kid: jwk.kid })).toString('base64url');
      const payload = Buffer.from(canonicalize(claims)!, 'utf8').toString('base64url');
      const signature = sign(null, Buffer.from(`${header}.${payload}`, 'ascii'), key).toString('base64url');
      return `${header}.${payload}.${signature}`;
    },
  };
}
