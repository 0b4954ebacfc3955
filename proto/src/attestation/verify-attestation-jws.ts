import { createPublicKey, verify } from 'node:crypto';
import { parseAttestationPublicJwk, type AttestationPublicJwk } from './attestation-key.js';
import { ATTESTATION_MAX_BYTES, ATTESTATION_TYP, type AttestationClaims } from './claims.js';
import { AttestationError } from './errors.js';
import { validateAttestationClaims } from './validate-claims.js';

/** Header parameters that would let a token choose its own key or change how it is processed. */
const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c', 'crit', 'b64'] as const;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export interface VerifiedAttestationSignature {
  readonly claims: AttestationClaims;
  readonly kid: string;
}

function decodeJson(part: string, what: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(part, 'base64url')));
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // refused below
  }
  throw new AttestationError('ATTESTATION_MALFORMED', `the attestation ${what} is not a base64url JSON object`);
}

/**
 * Checks the header, then the signature with the keys registered for the node that is expected to
 * have signed (never a key the token names for itself), then the claim schema. A token signed by
 * another node's key fails here: that key is not among `nodeKeys`.
 */
export function verifyAttestationSignature(jws: unknown, nodeKeys: readonly AttestationPublicJwk[]): VerifiedAttestationSignature {
  if (typeof jws !== 'string' || jws.length > ATTESTATION_MAX_BYTES || !COMPACT_JWS.test(jws)) {
    throw new AttestationError('ATTESTATION_MALFORMED', `the attestation is not a compact JWS of at most ${ATTESTATION_MAX_BYTES} bytes (header.payload.signature in base64url)`);
  }
  const [h, p, s] = jws.split('.') as [string, string, string];
  const header = decodeJson(h, 'header');
  const forbidden = FORBIDDEN_HEADERS.filter((name) => Object.hasOwn(header, name));
  if (forbidden.length > 0) {
    throw new AttestationError('ATTESTATION_HEADER_FORBIDDEN', `the attestation header carries ${forbidden.join(', ')}; keys come only from the node's registered attestation keys`);
  }
  if (header.alg !== 'EdDSA') {
    throw new AttestationError('ATTESTATION_ALG_INVALID', `the attestation alg is ${JSON.stringify(header.alg) ?? 'missing'}; only EdDSA (Ed25519) is accepted`);
  }
  if (header.typ !== ATTESTATION_TYP) {
    throw new AttestationError('ATTESTATION_TYP_INVALID', `the attestation typ is ${JSON.stringify(header.typ) ?? 'missing'}, expected ${ATTESTATION_TYP}`);
  }
  const kid = header.kid;
  if (typeof kid !== 'string' || kid.length === 0) throw new AttestationError('ATTESTATION_MALFORMED', 'the attestation header has no kid');
  const jwk = nodeKeys.map(parseAttestationPublicJwk).find((k) => k.kid === kid);
  const signature = Buffer.from(s, 'base64url');
  const valid = jwk !== undefined && signature.length === 64
    && verify(null, Buffer.from(`${h}.${p}`, 'ascii'), createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' }), signature);
  if (!valid) {
    const why = jwk === undefined
      ? `kid ${kid} is not one of this node's registered attestation keys (${nodeKeys.map((k) => k.kid).join(', ') || 'none'}); it was signed by another node or an unregistered key`
      : `it does not verify with the node's key ${kid}: the attestation was altered after signing`;
    throw new AttestationError('ATTESTATION_SIGNATURE_INVALID', `attestation signature refused: ${why}`, { kid });
  }
  return { claims: validateAttestationClaims(decodeJson(p, 'claims')), kid };
}
