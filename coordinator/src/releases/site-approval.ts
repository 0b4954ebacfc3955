import {
  ed25519Thumbprint, GovernanceError, peekStewardApproval, verifyStewardApproval, type StewardApprovalClaims,
} from '@medfed/proto/governance/index';
import type { Queryable } from '../storage/db.js';

/** What the coordinator checks a steward's approval against: the release it is offered for. */
export interface ApprovedRelease {
  readonly id: string;
  readonly jobId: string;
  readonly round: number;
  readonly inputSha256: string;
}

export interface CheckedSiteApproval {
  readonly claims: StewardApprovalClaims;
  /** RFC 7638 thumbprint of the key that signed it. */
  readonly keyThumbprint: string;
  /** Whether that key is the one the coordinator knows for the site (false: it knew none). */
  readonly keyChecked: boolean;
}

/** The thumbprint of the public key a steward approval carries in its header (form checked by the verifier). */
function carriedThumbprint(jws: string): string {
  try {
    const header = JSON.parse(Buffer.from(jws.split('.')[0]!, 'base64url').toString('utf8')) as { jwk?: { x?: unknown } };
    if (typeof header.jwk?.x === 'string') return ed25519Thumbprint({ kty: 'OKP', crv: 'Ed25519', x: header.jwk.x });
  } catch { /* reported below */ }
  throw new GovernanceError('STEWARD_APPROVAL_INVALID', 'the signed approval is refused: its header carries no Ed25519 public key');
}

/**
 * The coordinator's early check of a site steward's signed approval of a release, before it records
 * it: its form, that it is this release's (job, id, round, input digest, step `release`), that its
 * signer is the caller's own site, that it is valid now, and that it verifies. With the steward key
 * the coordinator knows for that site (`knownThumbprint`) it must be signed by exactly that key;
 * knowing none, only that the signature verifies with the key it carries. This check is not what
 * protects a release: the agents verify the approvals against the keys they pinned, whatever the
 * coordinator recorded (docs/releases.md).
 */
export function checkSiteApproval(jws: unknown, release: ApprovedRelease, site: string, knownThumbprint: string | undefined, now: Date = new Date()): CheckedSiteApproval {
  const claims = peekStewardApproval(jws);
  if (claims.signerRole !== 'steward' || claims.signer !== site) {
    throw new GovernanceError('STEWARD_APPROVAL_MISMATCH',
      `the approval is signed as ${claims.signerRole} ${claims.signer}; a steward of ${site} approves only with the steward key of ${site}`);
  }
  const carried = carriedThumbprint(jws as string);
  verifyStewardApproval(jws, () => knownThumbprint ?? carried, {
    consortium: claims.consortium, step: 'release', job: release.jobId, release: release.id, round: release.round, inputSha256: release.inputSha256,
  }, now);
  return { claims, keyThumbprint: carried, keyChecked: knownThumbprint !== undefined };
}

/**
 * The steward key a site used for a job, as far as the coordinator knows it: the key that signed the
 * site's latest signature of the job's site list (key ceremony). Undefined for a plaintext job, or a
 * site that has signed none. It is what the site itself sent, never verified against any pin: good
 * for refusing a wrong key early, not for trusting one.
 */
export async function knownStewardKey(q: Queryable, jobId: string, site: string): Promise<string | undefined> {
  const { rows } = await q.query<{ jws: string | null }>(
    'SELECT signatures ->> $2::text AS jws FROM job_keys WHERE job_id = $1 AND signatures ? $2::text ORDER BY epoch DESC LIMIT 1', [jobId, site]);
  const jws = rows[0]?.jws;
  if (!jws) return undefined;
  try {
    const header = JSON.parse(Buffer.from(jws.split('.')[0]!, 'base64url').toString('utf8')) as { jwk?: { kty?: unknown; crv?: unknown; x?: unknown } };
    const jwk = header.jwk;
    if (jwk?.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') return undefined;
    return ed25519Thumbprint({ kty: 'OKP', crv: 'Ed25519', x: jwk.x });
  } catch {
    return undefined;
  }
}
