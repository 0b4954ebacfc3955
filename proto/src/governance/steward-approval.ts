import { KeyObject, createHash, createPrivateKey, createPublicKey, sign, verify, type webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
import { canonicalBytes } from '../audit/jcs.js';
import { GovernanceError } from './errors.js';

/**
 * A hospital's decision as a signature (docs/governance.md): "I, steward of site S (or auditor A of
 * the roster), approve this step for this consortium, job, release and round, over this exact input,
 * until this time". Signed with a key the coordinator never holds (the steward key in the agent's
 * state dir, or an auditor key the steward-signed roster names), so nothing the coordinator's
 * operator can mint passes for it. Verifiers look up the RFC 7638 thumbprint they pinned for the
 * signer it names (role, id) and verify only with a key of exactly that thumbprint: the public key
 * travels in the header so that thumbprint pins (pinned-sites.json, the roster) are enough.
 *
 * Wire form: compact JWS, header exactly {alg: EdDSA, typ, kid: thumbprint, jwk: {kty, crv, x}},
 * payload the RFC 8785 canonical JSON of the claims (a payload in any other form is refused).
 */
export const STEWARD_APPROVAL_TYP = 'medfed-steward-approval+jws';
export const STEWARD_APPROVAL_MAX_BYTES = 4096;
/** The longest an approval may stay valid: a decision is taken for a specific event, not forever. */
export const STEWARD_APPROVAL_MAX_LIFETIME_S = 30 * 24 * 3600;

/** What is approved: a model release, a purge of audit entries inside retention, or a change of the consortium's rule (roster). */
export const APPROVAL_STEPS = ['release', 'audit-purge', 'governance-rule'] as const;
export type ApprovalStep = (typeof APPROVAL_STEPS)[number];
export type SignerRole = 'steward' | 'auditor';

export interface StewardApprovalClaims {
  readonly consortium: string;
  /** The job (release) or null (purge, rule change). */
  readonly job: string | null;
  /** The release id (release) or null. */
  readonly release: string | null;
  /** The released round, or null. */
  readonly round: number | null;
  readonly step: ApprovalStep;
  /** SHA-256 (hex) of the input decided on: the encrypted round sum (release), the canonical purge request (purge), the new roster's signed bytes (rule change). */
  readonly inputSha256: string;
  /** POSIX seconds after which the approval no longer counts. */
  readonly expiresAt: number;
  readonly signerRole: SignerRole;
  /** Site id (steward) or roster auditor id. */
  readonly signer: string;
}

/** An Ed25519 public key as pins and rosters carry it. */
export interface Ed25519PublicJwk { readonly kty: 'OKP'; readonly crv: 'Ed25519'; readonly x: string }

const FIELDS = ['consortium', 'job', 'release', 'round', 'step', 'inputSha256', 'expiresAt', 'signerRole', 'signer'];
const HEX64 = /^[0-9a-f]{64}$/;
const ID = /^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,127}$/;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function malformed(why: string): never {
  throw new GovernanceError('STEWARD_APPROVAL_INVALID', `the signed approval is refused: ${why}`);
}

/** The claims' shape, strictly: every field present and typed, nothing else. */
export function validateStewardApprovalClaims(value: unknown): StewardApprovalClaims {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return malformed('its payload is not a JSON object');
  const c = value as Record<string, unknown>;
  const keys = Object.keys(c);
  const extra = keys.filter((k) => !FIELDS.includes(k));
  if (extra.length > 0) malformed(`unexpected claim ${extra.join(', ')}`);
  const missing = FIELDS.filter((k) => !keys.includes(k));
  if (missing.length > 0) malformed(`missing claim ${missing.join(', ')}`);
  if (typeof c.consortium !== 'string' || !ID.test(c.consortium)) malformed('consortium is not an id');
  if (c.job !== null && (typeof c.job !== 'string' || !ID.test(c.job))) malformed('job is neither null nor an id');
  if (c.release !== null && (typeof c.release !== 'string' || !ID.test(c.release))) malformed('release is neither null nor an id');
  if (c.round !== null && (!Number.isSafeInteger(c.round) || (c.round as number) < 0)) malformed('round is neither null nor a non-negative integer');
  if (!APPROVAL_STEPS.includes(c.step as ApprovalStep)) malformed(`step is not one of ${APPROVAL_STEPS.join(', ')}`);
  if (typeof c.inputSha256 !== 'string' || !HEX64.test(c.inputSha256)) malformed('inputSha256 is not 64 lowercase hex digits');
  if (!Number.isSafeInteger(c.expiresAt) || (c.expiresAt as number) <= 0) malformed('expiresAt is not POSIX seconds');
  if (c.signerRole !== 'steward' && c.signerRole !== 'auditor') malformed('signerRole is neither steward nor auditor');
  if (typeof c.signer !== 'string' || !ID.test(c.signer)) malformed('signer is not an id');
  if (c.step === 'release' && (c.job === null || c.release === null || c.round === null)) malformed('a release approval names its job, release and round');
  return c as unknown as StewardApprovalClaims;
}

/** SHA-256 (hex) of the RFC 8785 form of a value: the `inputSha256` of a purge request or rule. */
export function canonicalSha256(value: unknown): string {
  return createHash('sha256').update(canonicalBytes(value)).digest('hex');
}

/** RFC 7638 thumbprint of an Ed25519 public key (base64url SHA-256 of {"crv","kty","x"}). */
export function ed25519Thumbprint(jwk: Ed25519PublicJwk): string {
  return createHash('sha256').update(JSON.stringify({ crv: 'Ed25519', kty: 'OKP', x: jwk.x })).digest('base64url');
}

const b64 = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');

/** Signs an approval with the signer's private Ed25519 key (a KeyObject, or a private JWK with d). */
export function signStewardApproval(claims: StewardApprovalClaims, key: { privateKey: KeyObject | CryptoKey | { x: string; d: string }; publicJwk: Ed25519PublicJwk }): string {
  validateStewardApprovalClaims(claims);
  const k = key.privateKey as { x?: unknown; d?: unknown };
  const privateKey = typeof k.d === 'string' && typeof k.x === 'string'
    ? createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: k.x, d: k.d }, format: 'jwk' })
    : key.privateKey instanceof KeyObject ? key.privateKey : KeyObject.from(key.privateKey as CryptoKey);
  const jwk = { kty: 'OKP', crv: 'Ed25519', x: key.publicJwk.x };
  const header = { alg: 'EdDSA', typ: STEWARD_APPROVAL_TYP, kid: ed25519Thumbprint(key.publicJwk), jwk };
  const signingInput = `${b64(JSON.stringify(header))}.${b64(canonicalBytes(claims))}`;
  return `${signingInput}.${sign(null, Buffer.from(signingInput, 'ascii'), privateKey).toString('base64url')}`;
}

function decodeJson(part: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(part, 'base64url'))) as unknown;
  } catch {
    return malformed('a part is not base64url JSON');
  }
}

/** Reads the claims without verifying them (to route an approval to its pinned key, or to show it). */
export function peekStewardApproval(jws: unknown): StewardApprovalClaims {
  if (typeof jws !== 'string' || jws.length > STEWARD_APPROVAL_MAX_BYTES || !COMPACT_JWS.test(jws)) {
    return malformed(`it is not a compact JWS of at most ${STEWARD_APPROVAL_MAX_BYTES} bytes`);
  }
  const [, p] = jws.split('.') as [string, string, string];
  const payload = Buffer.from(p, 'base64url');
  const claims = validateStewardApprovalClaims(decodeJson(p));
  if (!Buffer.from(canonicalBytes(claims)).equals(payload)) malformed('its payload is not the RFC 8785 canonical form of its claims');
  return claims;
}

/** The RFC 7638 thumbprint a verifier pinned for a signer; undefined when it pinned none. */
export type PinnedKeyLookup = (role: SignerRole, signer: string) => string | undefined;

export interface ExpectedApproval {
  readonly consortium: string;
  readonly step: ApprovalStep;
  readonly inputSha256: string;
  readonly job?: string | null;
  readonly release?: string | null;
  readonly round?: number | null;
}

/**
 * Verifies one approval: its form, its signature with the key the verifier pinned for the signer it
 * names (never a key it carries), that it is about exactly the expected decision, and its expiry.
 */
export function verifyStewardApproval(jws: unknown, pinnedKey: PinnedKeyLookup, expected: ExpectedApproval, now: Date = new Date()): StewardApprovalClaims {
  const claims = peekStewardApproval(jws);
  const [h, p, s] = (jws as string).split('.') as [string, string, string];
  const header = decodeJson(h) as Record<string, unknown>;
  if (typeof header !== 'object' || header === null || Array.isArray(header)) malformed('its header is not an object');
  const keys = Object.keys(header).sort().join(',');
  if (keys !== 'alg,jwk,kid,typ' || header.alg !== 'EdDSA' || header.typ !== STEWARD_APPROVAL_TYP || typeof header.kid !== 'string') {
    malformed(`its header is not exactly {alg: EdDSA, typ: ${STEWARD_APPROVAL_TYP}, kid, jwk}`);
  }
  const carried = header.jwk as Record<string, unknown> | null;
  if (typeof carried !== 'object' || carried === null || Object.keys(carried).sort().join(',') !== 'crv,kty,x'
    || carried.kty !== 'OKP' || carried.crv !== 'Ed25519' || typeof carried.x !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(carried.x)) {
    malformed('its header jwk is not exactly a public Ed25519 key {kty, crv, x}');
  }
  const jwk: Ed25519PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: carried.x as string };
  const pinned = pinnedKey(claims.signerRole, claims.signer);
  if (!pinned) {
    throw new GovernanceError('STEWARD_APPROVAL_SIGNATURE_INVALID', `no key is pinned here for ${claims.signerRole} ${claims.signer}, so its approval cannot be checked`);
  }
  const thumbprint = ed25519Thumbprint(jwk);
  if (thumbprint !== pinned || header.kid !== thumbprint) {
    throw new GovernanceError('STEWARD_APPROVAL_SIGNATURE_INVALID',
      `the approval of ${claims.signerRole} ${claims.signer} is signed with key ${thumbprint}; the key pinned here for it is ${pinned}`);
  }
  const signature = Buffer.from(s, 'base64url');
  const ok = signature.length === 64
    && verify(null, Buffer.from(`${h}.${p}`, 'ascii'), createPublicKey({ key: { ...jwk }, format: 'jwk' }), signature);
  if (!ok) {
    throw new GovernanceError('STEWARD_APPROVAL_SIGNATURE_INVALID', `the approval of ${claims.signerRole} ${claims.signer} does not verify with its pinned key ${pinned}`);
  }
  const differs = (['consortium', 'step', 'inputSha256', 'job', 'release', 'round'] as const)
    .filter((k) => expected[k] !== undefined && expected[k] !== claims[k]);
  if (differs.length > 0) {
    throw new GovernanceError('STEWARD_APPROVAL_MISMATCH',
      `the approval of ${claims.signerRole} ${claims.signer} is for another ${differs.map((k) => `${k} (${JSON.stringify(claims[k])}, expected ${JSON.stringify(expected[k])})`).join(', ')}`);
  }
  const nowS = Math.floor(now.getTime() / 1000);
  if (claims.expiresAt <= nowS) {
    throw new GovernanceError('STEWARD_APPROVAL_EXPIRED', `the approval of ${claims.signerRole} ${claims.signer} expired at ${new Date(claims.expiresAt * 1000).toISOString()}`);
  }
  if (claims.expiresAt > nowS + STEWARD_APPROVAL_MAX_LIFETIME_S) {
    throw new GovernanceError('STEWARD_APPROVAL_EXPIRED', `the approval of ${claims.signerRole} ${claims.signer} is valid until ${new Date(claims.expiresAt * 1000).toISOString()}, longer than an approval may be (30 days)`);
  }
  return claims;
}

export interface QuorumRule {
  /** Who may sign, per role (site ids for stewards, auditor ids for auditors). */
  readonly eligible: { readonly steward?: readonly string[]; readonly auditor?: readonly string[] };
  /** How many distinct signers of one role are enough (either role's threshold reached counts). */
  readonly threshold: { readonly steward?: number; readonly auditor?: number };
}

export interface QuorumResult {
  readonly signed: { readonly steward: readonly string[]; readonly auditor: readonly string[] };
  readonly rejected: readonly { readonly signer: string; readonly code: string; readonly reason: string }[];
  readonly reached: boolean;
  /** The approvals counted, exactly as given: the first valid one of each distinct eligible signer. */
  readonly counted: readonly string[];
  /** A sentence saying who signed, who is missing and why any were not counted. */
  readonly summary: string;
}

/** The majority of a set: more than half. */
export function majorityOf(count: number): number {
  return Math.floor(count / 2) + 1;
}

/** Counts the valid approvals of distinct eligible signers; invalid ones are reported, never counted. */
export function tallyApprovals(approvals: readonly unknown[], pinnedKey: PinnedKeyLookup, expected: ExpectedApproval, rule: QuorumRule, now: Date = new Date()): QuorumResult {
  const signed = { steward: new Set<string>(), auditor: new Set<string>() };
  const rejected: { signer: string; code: string; reason: string }[] = [];
  const counted: string[] = [];
  for (const jws of approvals) {
    let claims: StewardApprovalClaims;
    try {
      claims = verifyStewardApproval(jws, pinnedKey, expected, now);
    } catch (err) {
      const signer = (() => { try { const c = peekStewardApproval(jws); return `${c.signerRole} ${c.signer}`; } catch { return 'unreadable approval'; } })();
      rejected.push({ signer, code: err instanceof GovernanceError ? err.code : 'STEWARD_APPROVAL_INVALID', reason: (err as Error).message });
      continue;
    }
    if (!(rule.eligible[claims.signerRole] ?? []).includes(claims.signer)) {
      rejected.push({ signer: `${claims.signerRole} ${claims.signer}`, code: 'STEWARD_APPROVAL_MISMATCH', reason: `${claims.signerRole} ${claims.signer} is not one of those who decide this` });
      continue;
    }
    if (signed[claims.signerRole].has(claims.signer)) continue;
    signed[claims.signerRole].add(claims.signer);
    counted.push(jws as string);
  }
  const reachedBy = (role: SignerRole) => rule.threshold[role] !== undefined && rule.threshold[role]! > 0 && signed[role].size >= rule.threshold[role]!;
  const reached = reachedBy('steward') || reachedBy('auditor');
  const parts: string[] = [];
  for (const role of ['steward', 'auditor'] as const) {
    if (rule.threshold[role] === undefined) continue;
    const missing = (rule.eligible[role] ?? []).filter((s) => !signed[role].has(s));
    parts.push(`${role}s: ${signed[role].size} of ${rule.threshold[role]} needed (signed: ${[...signed[role]].sort().join(', ') || 'none'}; not signed: ${missing.join(', ') || 'none'})`);
  }
  if (rejected.length > 0) parts.push(`not counted: ${rejected.map((r) => `${r.signer} (${r.code})`).join(', ')}`);
  return {
    signed: { steward: [...signed.steward].sort(), auditor: [...signed.auditor].sort() }, rejected, reached, counted, summary: parts.join('; '),
  };
}

/** Throws APPROVAL_QUORUM_NOT_MET unless the approvals reach the rule. */
export function requireQuorum(what: string, approvals: readonly unknown[], pinnedKey: PinnedKeyLookup, expected: ExpectedApproval, rule: QuorumRule, now: Date = new Date()): QuorumResult {
  const result = tallyApprovals(approvals, pinnedKey, expected, rule, now);
  if (!result.reached) throw new GovernanceError('APPROVAL_QUORUM_NOT_MET', `${what} needs signed approvals it does not have: ${result.summary}`, { rejected: result.rejected });
  return result;
}
