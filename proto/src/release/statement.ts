import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { MedfedError } from '../errors/medfed-error.js';
import { parseAttestationPublicJwk, type AttestationPrivateJwk, type AttestationPublicJwk } from '../attestation/attestation-key.js';

/**
 * A site's signed statement in the release workflow: "I decrypted (or reproduced the decryption of)
 * the model of this job and round from this encrypted input, and the plaintext hashes to this".
 * Signed with the node's attestation key (the key the coordinator already holds per site), under its
 * own `typ`, so it can never pass for an attestation of an update or for a manifest.
 */
export const RELEASE_STATEMENT_TYP = 'medfed-release-statement+jws';
export const RELEASE_STATEMENT_MAX_BYTES = 4096;

export type ReleaseStep = 'decrypt' | 'reproduce';

export interface ReleaseStatementClaims {
  readonly release: string;
  readonly site: string;
  readonly job: string;
  readonly round: number;
  readonly step: ReleaseStep;
  /** SHA-256 (hex) of the encrypted input: the round's encrypted sum (or the plaintext weights of a plaintext job). */
  readonly inputSha256: string;
  /** SHA-256 (hex) of the plaintext float32 model this site computed. */
  readonly sha256: string;
  /** Reproduce step: whether this site's digest equals the first site's (false: it refuses to countersign). */
  readonly agrees: boolean;
  /** POSIX seconds. */
  readonly iat: number;
}

const HEX64 = /^[0-9a-f]{64}$/;
const ID = /^[A-Za-z0-9._@:+-]{1,128}$/;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const FIELDS = ['release', 'site', 'job', 'round', 'step', 'inputSha256', 'sha256', 'agrees', 'iat'];

function invalid(why: string): never {
  throw new MedfedError('RELEASE_STATEMENT_INVALID', `the release statement is refused: ${why}`);
}

/** The claims' shape, strictly: every field present and typed, nothing else. */
export function validateReleaseStatementClaims(value: unknown): ReleaseStatementClaims {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return invalid('its payload is not a JSON object');
  const c = value as Record<string, unknown>;
  const extra = Object.keys(c).filter((k) => !FIELDS.includes(k));
  if (extra.length > 0) invalid(`unexpected claim ${extra.join(', ')}`);
  if (typeof c.release !== 'string' || !ID.test(c.release)) invalid('release is not an id');
  if (typeof c.site !== 'string' || !ID.test(c.site)) invalid('site is not an id');
  if (typeof c.job !== 'string' || !ID.test(c.job)) invalid('job is not an id');
  if (!Number.isInteger(c.round) || (c.round as number) < 0) invalid('round is not a non-negative integer');
  if (c.step !== 'decrypt' && c.step !== 'reproduce') invalid('step is neither decrypt nor reproduce');
  if (typeof c.inputSha256 !== 'string' || !HEX64.test(c.inputSha256)) invalid('inputSha256 is not 64 lowercase hex digits');
  if (typeof c.sha256 !== 'string' || !HEX64.test(c.sha256)) invalid('sha256 is not 64 lowercase hex digits');
  if (typeof c.agrees !== 'boolean') invalid('agrees is not a boolean');
  if (!Number.isInteger(c.iat) || (c.iat as number) < 0) invalid('iat is not POSIX seconds');
  return c as unknown as ReleaseStatementClaims;
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/** Signs a statement with the node's attestation key (EdDSA). */
export function signReleaseStatement(claims: ReleaseStatementClaims, key: AttestationPrivateJwk): string {
  validateReleaseStatementClaims(claims);
  const signingInput = `${b64url({ alg: 'EdDSA', typ: RELEASE_STATEMENT_TYP, kid: key.kid })}.${b64url(claims)}`;
  const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.x, d: key.d }, format: 'jwk' });
  return `${signingInput}.${sign(null, Buffer.from(signingInput, 'ascii'), privateKey).toString('base64url')}`;
}

function decodeJson(part: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(part, 'base64url'))) as unknown;
  } catch {
    return invalid('a part is not base64url JSON');
  }
}

/**
 * Verifies a statement against the keys registered for the site expected to have signed it (never
 * a key the statement names for itself): header (EdDSA, this typ, a kid, nothing that redirects key
 * lookup), signature, then the claims' schema.
 */
export function verifyReleaseStatement(jws: unknown, siteKeys: readonly AttestationPublicJwk[]): ReleaseStatementClaims {
  if (typeof jws !== 'string' || jws.length > RELEASE_STATEMENT_MAX_BYTES || !COMPACT_JWS.test(jws)) {
    return invalid(`it is not a compact JWS of at most ${RELEASE_STATEMENT_MAX_BYTES} bytes`);
  }
  const [h, p, s] = jws.split('.') as [string, string, string];
  const header = decodeJson(h) as Record<string, unknown>;
  if (typeof header !== 'object' || header === null) invalid('its header is not an object');
  const keys = Object.keys(header);
  if (keys.some((k) => !['alg', 'typ', 'kid'].includes(k))) invalid(`its header carries ${keys.filter((k) => !['alg', 'typ', 'kid'].includes(k)).join(', ')}`);
  if (header.alg !== 'EdDSA') invalid('alg is not EdDSA');
  if (header.typ !== RELEASE_STATEMENT_TYP) invalid(`typ is not ${RELEASE_STATEMENT_TYP}`);
  const jwk = siteKeys.map(parseAttestationPublicJwk).find((k) => k.kid === header.kid);
  if (!jwk) {
    throw new MedfedError('RELEASE_STATEMENT_SIGNATURE_INVALID', `the release statement's kid ${JSON.stringify(header.kid)} is not a registered key of the site`);
  }
  const signature = Buffer.from(s, 'base64url');
  const ok = signature.length === 64
    && verify(null, Buffer.from(`${h}.${p}`, 'ascii'), createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' }), signature);
  if (!ok) throw new MedfedError('RELEASE_STATEMENT_SIGNATURE_INVALID', `the release statement does not verify with the site's key ${jwk.kid}`);
  return validateReleaseStatementClaims(decodeJson(p));
}
