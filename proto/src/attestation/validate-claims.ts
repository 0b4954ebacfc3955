import { AttestationError } from './errors.js';
import { ATTESTATION_MAX_LIFETIME_SECONDS, ATTESTATION_VERSION, ATTESTER_KINDS, type AttestationClaims, type AttestationStatement } from './claims.js';

type Check = (value: unknown) => string | undefined;

const SHA256_HEX = /^[0-9a-f]{64}$/;
const SITE_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** 32 bytes in unpadded base64url. */
export const ATTESTATION_NONCE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

const text = (pattern: RegExp, what: string): Check => (v) => (typeof v === 'string' && pattern.test(v) ? undefined : `must be ${what}`);
const integer = (min: number, max: number): Check => (v) =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max ? undefined : `must be an integer from ${min} to ${max}`;
const digest = text(SHA256_HEX, 'a SHA-256 digest (64 lowercase hex digits)');

const STATEMENT_FIELDS: Record<keyof AttestationStatement, Check> = {
  site: text(SITE_ID, 'a site id (lowercase letters, digits, -; at most 63)'),
  job: text(JOB_ID, 'a job id (letters, digits, . _ : -; at most 128)'),
  round: integer(0, 1_000_000),
  nonce: text(ATTESTATION_NONCE_PATTERN, 'a coordinator nonce (32 bytes, unpadded base64url)'),
  trainerDigest: digest,
  sandboxPolicyDigest: digest,
  manifestDigest: digest,
  updateSha256: digest,
  sandboxed: (v) => (typeof v === 'boolean' ? undefined : 'must be true or false'),
};

const CLAIM_FIELDS: Record<keyof AttestationClaims, Check> = {
  ...STATEMENT_FIELDS,
  v: (v) => (v === ATTESTATION_VERSION ? undefined : `must be ${ATTESTATION_VERSION}`),
  attester: (v) => (typeof v === 'string' && (ATTESTER_KINDS as readonly string[]).includes(v) ? undefined : `must be one of ${ATTESTER_KINDS.join(', ')}`),
  iat: integer(0, 2 ** 40),
  exp: integer(0, 2 ** 40),
};

/** A closed object: every field present and valid, no other field. */
function problemsOf(value: unknown, fields: Record<string, Check>, what: string): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${what} must be a JSON object`];
  const problems: string[] = [];
  for (const [name, check] of Object.entries(fields)) {
    if (!Object.hasOwn(value, name)) problems.push(`${name} is missing`);
    else {
      const p = check((value as Record<string, unknown>)[name]);
      if (p !== undefined) problems.push(`${name} ${p}`);
    }
  }
  for (const name of Object.keys(value)) if (!Object.hasOwn(fields, name)) problems.push(`${name} is not an attestation claim`);
  return problems;
}

function refuse(problems: string[], what: string): never {
  throw new AttestationError('ATTESTATION_CLAIMS_INVALID', `the ${what} is invalid: ${problems.slice(0, 10).join('; ')}`, { problems });
}

/** Every problem with a claims payload; empty when it is valid. */
export function attestationClaimsProblems(value: unknown): string[] {
  const problems = problemsOf(value, CLAIM_FIELDS, 'the attestation claims');
  if (problems.length > 0) return problems;
  const { iat, exp } = value as AttestationClaims;
  if (exp <= iat) problems.push(`exp (${exp}) must be after iat (${iat})`);
  else if (exp - iat > ATTESTATION_MAX_LIFETIME_SECONDS) problems.push(`exp - iat is ${exp - iat} s; at most ${ATTESTATION_MAX_LIFETIME_SECONDS} s is accepted`);
  return problems;
}

export function validateAttestationClaims(value: unknown): AttestationClaims {
  const problems = attestationClaimsProblems(value);
  if (problems.length > 0) refuse(problems, 'attestation claims payload');
  return value as AttestationClaims;
}

/** Checks what an agent is about to attest, before anything is signed. */
export function validateAttestationStatement(value: unknown): AttestationStatement {
  const problems = problemsOf(value, STATEMENT_FIELDS, 'the attestation statement');
  if (problems.length > 0) refuse(problems, 'attestation statement');
  return value as AttestationStatement;
}
