import {
  AttestationError,
  IMPLEMENTED_ATTESTER_KINDS,
  SOFTWARE_ATTESTATION_NOTICE,
  verifyAttestationSignature,
  type AttestationClaims,
  type AttestationPublicJwk,
} from '@medfed/proto/attestation/index';
import { AttestationVerificationError, type AttestationPolicyErrorCode } from './errors.js';
import type { NoncePurpose, NonceStore, NonceVerdict } from './nonce-store.js';

export type AttestationEnv = 'development' | 'production';

/** What the coordinator knows independently of the attestation, for the update being submitted. */
export interface ExpectedAttestation {
  /** The authenticated node submitting the update. */
  readonly site: string;
  readonly job: string;
  readonly round: number;
  /** SHA-256 (hex) of the update bytes actually received. */
  readonly updateSha256: string;
  /** SHA-256 (hex) of the round's global-model manifest (compact JWS bytes). */
  readonly manifestDigest: string;
  /** Which nonce scope the attestation's nonce must come from (default `training`; see key-release.ts). */
  readonly purpose?: NoncePurpose;
}

export interface VerifyAttestationOptions {
  /** Registered attestation public keys per site id. Only the expected site's keys are tried. */
  readonly nodeKeys: ReadonlyMap<string, readonly AttestationPublicJwk[]>;
  /** Trainer build digests of approved trainers. */
  readonly allowlist: Iterable<string>;
  /** Approved sandbox policy digests; when omitted the policy digest is recorded but not restricted. */
  readonly sandboxPolicies?: Iterable<string>;
  readonly expected: ExpectedAttestation;
  readonly nonces: NonceStore;
  readonly env: AttestationEnv;
  /** Verification time (default: now). */
  readonly now?: Date;
  /** Tolerated clock difference between node and coordinator, seconds (default 60, at most 300). */
  readonly clockSkewSeconds?: number;
}

export interface VerifiedAttestation {
  readonly claims: AttestationClaims;
  readonly kid: string;
  /** What this kind of attestation does and does not prove, for reports and the audit trail. */
  readonly assurance: string;
  /** Accepted with reservations (development only): e.g. the trainer ran unsandboxed. */
  readonly warnings: readonly string[];
}

interface Context {
  readonly expected: ExpectedAttestation;
  readonly env: AttestationEnv;
  readonly nowSeconds: number;
  readonly skew: number;
  readonly allowlist: ReadonlySet<string>;
  readonly sandboxPolicies: ReadonlySet<string> | undefined;
}

/** Each rule names its code and returns the problem, or undefined when the claims pass it. In order. */
const CLAIM_RULES: readonly { code: AttestationPolicyErrorCode; problem: (c: AttestationClaims, x: Context) => string | undefined }[] = [
  { code: 'ATTESTATION_SITE_MISMATCH', problem: (c, x) => (c.site === x.expected.site ? undefined : `it names site ${c.site}, but ${x.expected.site} submitted the update`) },
  { code: 'ATTESTATION_NOT_YET_VALID', problem: (c, x) => (c.iat <= x.nowSeconds + x.skew ? undefined : `iat ${c.iat} is ${c.iat - x.nowSeconds} s in the future (allowed skew ${x.skew} s); check the node's clock`) },
  { code: 'ATTESTATION_EXPIRED', problem: (c, x) => (c.exp + x.skew > x.nowSeconds ? undefined : `it expired at ${new Date(c.exp * 1000).toISOString()} (exp ${c.exp}); the node must attest again with a fresh nonce`) },
  { code: 'ATTESTATION_JOB_MISMATCH', problem: (c, x) => (c.job === x.expected.job ? undefined : `it is for job ${c.job}, the update for job ${x.expected.job}`) },
  { code: 'ATTESTATION_ROUND_MISMATCH', problem: (c, x) => (c.round === x.expected.round ? undefined : `it is for round ${c.round}, the update for round ${x.expected.round}`) },
  { code: 'ATTESTATION_MANIFEST_MISMATCH', problem: (c, x) => (c.manifestDigest === x.expected.manifestDigest ? undefined : `it names global model manifest ${c.manifestDigest}, the round's is ${x.expected.manifestDigest}`) },
  { code: 'ATTESTATION_UPDATE_MISMATCH', problem: (c, x) => (c.updateSha256 === x.expected.updateSha256 ? undefined : `it vouches for update ${c.updateSha256}, but the bytes received hash to ${x.expected.updateSha256}`) },
  { code: 'ATTESTATION_ATTESTER_UNSUPPORTED', problem: (c) => (IMPLEMENTED_ATTESTER_KINDS.includes(c.attester) ? undefined : `attester ${c.attester} is reserved; no verifier for its quotes exists yet`) },
  { code: 'ATTESTATION_UNSANDBOXED', problem: (c, x) => (c.sandboxed || x.env !== 'production' ? undefined : 'the trainer ran without the sandbox (agent in development mode); production accepts sandboxed trainers only') },
  { code: 'ATTESTATION_MEASUREMENT_UNKNOWN', problem: (c, x) => (x.allowlist.has(c.trainerDigest) ? undefined : `trainer build ${c.trainerDigest} is not on the allowlist of approved trainers (${x.allowlist.size} entries)`) },
  {
    code: 'ATTESTATION_SANDBOX_POLICY_UNKNOWN',
    problem: (c, x) => (x.sandboxPolicies === undefined || x.sandboxPolicies.has(c.sandboxPolicyDigest) ? undefined : `sandbox policy ${c.sandboxPolicyDigest} is not on the allowlist of approved policies`),
  },
];

const NONCE_CODES: Record<Exclude<NonceVerdict, 'ok'>, { code: AttestationPolicyErrorCode; why: string }> = {
  unknown: { code: 'ATTESTATION_NONCE_UNKNOWN', why: 'was never issued for this job, round and site' },
  replayed: { code: 'ATTESTATION_NONCE_REPLAYED', why: 'was already used by an accepted attestation: this is a replay' },
  stale: { code: 'ATTESTATION_NONCE_STALE', why: 'expired or was superseded by a newer nonce; the node must fetch the current one' },
};

const SHA256_HEX = /^[0-9a-f]{64}$/;

function checkOptions(options: VerifyAttestationOptions): void {
  const bad = (why: string): never => {
    throw new AttestationVerificationError('ATTESTATION_POLICY_INVALID', `verifyAttestation: ${why}`);
  };
  if (options.env !== 'production' && options.env !== 'development') bad(`env must be "production" or "development", got ${JSON.stringify(options.env)}`);
  const e = options.expected;
  if (!SHA256_HEX.test(e.updateSha256)) bad('expected.updateSha256 must be 64 lowercase hex digits');
  if (!SHA256_HEX.test(e.manifestDigest)) bad('expected.manifestDigest must be 64 lowercase hex digits');
  if (!Number.isSafeInteger(e.round) || e.round < 0) bad('expected.round must be a non-negative integer');
  if (options.now !== undefined && Number.isNaN(options.now.getTime())) bad('now is an invalid Date');
  const skew = options.clockSkewSeconds ?? 60;
  if (!Number.isSafeInteger(skew) || skew < 0 || skew > 300) bad(`clockSkewSeconds must be an integer from 0 to 300, got ${skew}`);
}

/**
 * Decides whether an update's attestation is acceptable. Fails closed with a specific code; the
 * order is: format and signature (only the expected node's keys), claim schema, claims against
 * what the coordinator knows, allowlists, and last the nonce, so that a refused attestation never
 * burns the node's nonce. Accepts `unsandboxed` only in development, with a warning.
 */
export async function verifyAttestation(jws: string, options: VerifyAttestationOptions): Promise<VerifiedAttestation> {
  checkOptions(options);
  const { expected } = options;
  const keys = options.nodeKeys.get(expected.site) ?? [];
  if (keys.length === 0) {
    throw new AttestationVerificationError('ATTESTATION_KEY_UNKNOWN', `site ${expected.site} has no registered attestation key; register the public key its agent prints at enrolment`);
  }
  let verified: ReturnType<typeof verifyAttestationSignature>;
  try {
    verified = verifyAttestationSignature(jws, keys);
  } catch (err) {
    if (err instanceof AttestationError) throw new AttestationVerificationError(err.code, err.message, err.details as Record<string, unknown> | undefined, { cause: err });
    throw err;
  }
  const { claims, kid } = verified;
  const now = options.now ?? new Date();
  const context: Context = {
    expected,
    env: options.env,
    nowSeconds: Math.floor(now.getTime() / 1000),
    skew: options.clockSkewSeconds ?? 60,
    allowlist: new Set(options.allowlist),
    sandboxPolicies: options.sandboxPolicies === undefined ? undefined : new Set(options.sandboxPolicies),
  };
  for (const rule of CLAIM_RULES) {
    const problem = rule.problem(claims, context);
    if (problem !== undefined) {
      throw new AttestationVerificationError(rule.code, `attestation from ${expected.site} refused: ${problem}`, { kid, trainerDigest: claims.trainerDigest });
    }
  }
  const verdict = await options.nonces.consume({ job: expected.job, round: expected.round, site: expected.site, purpose: expected.purpose ?? 'training' }, claims.nonce, now);
  if (verdict !== 'ok') {
    const { code, why } = NONCE_CODES[verdict];
    throw new AttestationVerificationError(code, `attestation from ${expected.site} refused: its nonce ${why}`, { kid, trainerDigest: claims.trainerDigest });
  }
  const warnings = claims.sandboxed ? [] : ['unsandboxed: the trainer ran without the sandbox (accepted because env is development)'];
  return { claims, kid, assurance: SOFTWARE_ATTESTATION_NOTICE, warnings };
}
