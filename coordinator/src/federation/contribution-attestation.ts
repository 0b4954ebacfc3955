import type { Queryable } from '../storage/db.js';

/**
 * Whether a site's training contributions to a job were attested, from what the coordinator
 * recorded: each accepted update's `submission.receive` audit event carries the attestation verdict
 * (`verdict: pass`) when the job has a trainer allowlist (engine.checkAttestation); an update that
 * failed its attestation was refused, so it never became a contribution.
 */
export interface SiteAttestation {
  readonly site: string;
  /** Training rounds the site contributed to (contributions still held). */
  readonly contributed: number;
  /** Of those, the rounds whose accepted update carried a passing attestation. */
  readonly attested: number;
  /** `attested`: every contribution; `partly attested`; `not attested` (a job without a trainer allowlist); `no contribution`. */
  readonly state: 'attested' | 'partly attested' | 'not attested' | 'no contribution';
}

export function attestationState(contributed: number, attested: number): SiteAttestation['state'] {
  if (contributed === 0) return 'no contribution';
  if (attested >= contributed) return 'attested';
  return attested === 0 ? 'not attested' : 'partly attested';
}

/** Per site of `sites`: its training contributions to the job and how many of them were attested. */
export async function attestationBySite(db: Queryable, jobId: string, sites: readonly string[],
  contributions: readonly { round: number; site: string }[], trainRounds: readonly number[]): Promise<SiteAttestation[]> {
  const { rows } = await db.query<{ site: string | null; event: string }>(
    `SELECT site, event FROM audit_events WHERE job = $1 AND action = 'submission.receive' AND outcome = 'success' ORDER BY seq`, [jobId]);
  const passed = new Set<string>();
  for (const r of rows) {
    const details = (JSON.parse(r.event) as { details?: { verdict?: unknown; round?: unknown } }).details ?? {};
    if (r.site && details.verdict === 'pass' && typeof details.round === 'number') passed.add(`${r.site}/${details.round}`);
  }
  return sites.map((site) => {
    const rounds = new Set(contributions.filter((c) => c.site === site && trainRounds.includes(c.round)).map((c) => c.round));
    const attested = [...rounds].filter((round) => passed.has(`${site}/${round}`)).length;
    return { site, contributed: rounds.size, attested, state: attestationState(rounds.size, attested) };
  });
}
