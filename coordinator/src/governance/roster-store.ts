import {
  GovernanceError, parseRoster, rosterDecision, rosterDigest, tallyApprovals, verifyRoster, type Roster,
} from '@medfed/proto/governance/index';
import type { Queryable } from '../storage/db.js';

/**
 * The consortium rosters this coordinator installed (migration 022), one row per version; the
 * highest is the rule in force. Nothing is trusted as stored: reading the current roster verifies
 * every row again, from the first installed one up: each roster's own signatures by all its listed
 * stewards, its digest, version and consortium against the row, and each replacement's approvals
 * against the stewards of the version before it (at the time it was accepted, since approvals are
 * short-lived). A row changed in the database, or one inserted without those approvals, makes the
 * roster refused (GOVERNANCE_ROSTER_INVALID) until it is restored: the rule is never taken from
 * anything the coordinator's operator can write alone.
 */
export interface InstalledRoster {
  readonly roster: Roster;
  readonly digest: string;
  readonly acceptedAt: string;
  /** The approvals that let it replace the version before it (none for the first installed). */
  readonly approvals: readonly string[];
}

interface RosterRow {
  readonly version: number;
  readonly consortium: string;
  readonly roster: unknown;
  readonly digest: string;
  readonly accepted_at: Date | string;
  readonly approvals: unknown;
}

function broken(version: number, why: string, cause?: unknown): never {
  throw new GovernanceError('GOVERNANCE_ROSTER_INVALID',
    `the installed consortium roster (version ${version}) does not verify: ${why}; nothing it governs is done until the row is restored`, undefined, cause ? { cause } : undefined);
}

async function verifiedRow(row: RosterRow): Promise<InstalledRoster> {
  const version = Number(row.version);
  let roster: Roster;
  try {
    const value = typeof row.roster === 'string' ? JSON.parse(row.roster) as unknown : row.roster;
    roster = await parseRoster(value);
    await verifyRoster(roster);
  } catch (err) {
    return broken(version, `${(err as { code?: string }).code ?? 'ROSTER_INVALID'}: ${(err as Error).message}`, err);
  }
  const digest = rosterDigest(roster);
  if (roster.version !== version) broken(version, `the row is version ${version}, its roster says ${roster.version}`);
  if (roster.consortium !== row.consortium) broken(version, `the row names consortium ${row.consortium}, its roster ${roster.consortium}`);
  if (digest !== row.digest) broken(version, `its digest is ${digest}, the row records ${row.digest}`);
  const approvals = row.approvals;
  if (!Array.isArray(approvals) || approvals.some((a) => typeof a !== 'string')) broken(version, 'its approvals are not a list of signed approvals');
  const acceptedAt = row.accepted_at instanceof Date ? row.accepted_at : new Date(row.accepted_at);
  return { roster, digest, acceptedAt: acceptedAt.toISOString(), approvals: approvals as string[] };
}

/** Checks that `next` replaced `previous` with a majority of `previous`'s stewards' approvals. */
function checkReplacement(previous: InstalledRoster, next: InstalledRoster): void {
  const version = next.roster.version;
  if (next.roster.consortium !== previous.roster.consortium) broken(version, `it is for consortium ${next.roster.consortium}, the version before it for ${previous.roster.consortium}`);
  const { pinned, rule } = rosterDecision(previous.roster, { auditors: false });
  const expected = { consortium: previous.roster.consortium, step: 'governance-rule' as const, inputSha256: next.digest, job: null, release: null, round: null };
  const result = tallyApprovals(next.approvals, pinned, expected, rule, new Date(next.acceptedAt));
  if (!result.reached) broken(version, `it replaced version ${previous.roster.version} without the approvals of a majority of its stewards (${result.summary})`);
}

async function rows(q: Queryable): Promise<RosterRow[]> {
  const { rows: found } = await q.query<RosterRow>(
    'SELECT version, consortium, roster, digest, accepted_at, approvals FROM governance_rosters ORDER BY version');
  return found;
}

/** The roster in force, verified as described above; null when none was ever installed. */
export async function currentRoster(q: Queryable): Promise<InstalledRoster | null> {
  let previous: InstalledRoster | null = null;
  for (const row of await rows(q)) {
    const installed = await verifiedRow(row);
    if (previous) checkReplacement(previous, installed);
    previous = installed;
  }
  return previous;
}

/** Stores a verified roster as the rule in force (the caller checked who may install it). */
export async function storeRoster(tx: Queryable, roster: Roster, digest: string, approvals: readonly string[], acceptedAt: Date): Promise<void> {
  await tx.query('INSERT INTO governance_rosters (version, consortium, roster, digest, accepted_at, approvals) VALUES ($1, $2, $3::jsonb, $4, $5, $6::jsonb)',
    [roster.version, roster.consortium, JSON.stringify(roster), digest, acceptedAt.toISOString(), JSON.stringify(approvals)]);
}

/** Serialises installs: one at a time decides against the roster in force. */
export async function lockRosters(tx: Queryable): Promise<void> {
  await tx.query('LOCK TABLE governance_rosters IN SHARE ROW EXCLUSIVE MODE');
}
