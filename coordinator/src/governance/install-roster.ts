import type { AuditEventInput } from '@medfed/proto/audit/index';
import {
  GovernanceError, parseRoster, rosterDecision, rosterDigest, rosterSignatures, tallyApprovals, verifyRoster, type Roster,
} from '@medfed/proto/governance/index';
import { appendInTransaction } from '../audit/store/append.js';
import { noteRequestEvent } from '../audit/request-events.js';
import type { Db } from '../storage/db.js';
import { governanceEvent, recordRefusal, signerNames, type GovernanceActor } from './events.js';
import { currentRoster, lockRosters, storeRoster } from './roster-store.js';

export interface RosterInstallRequest {
  /** The roster as its stewards signed it (JSON). */
  readonly roster: unknown;
  /** For a replacement: approvals (step governance-rule) by a majority of the installed roster's stewards. */
  readonly approvals?: readonly unknown[];
  readonly by: GovernanceActor;
  readonly now?: Date;
}

export interface RosterInstallResult {
  readonly outcome: 'installed' | 'replaced' | 'unchanged';
  readonly consortium: string;
  readonly version: number;
  readonly digest: string;
  readonly acceptedAt: string;
  /** `steward:<site>`: the stewards who signed the roster (installed) or approved the replacement (replaced). */
  readonly signers: readonly string[];
}

/** What is known of an attempt so far, for the event that records its refusal. */
interface Attempt {
  roster?: Roster;
  digest?: string;
  replacing?: { readonly digest?: string };
  signers?: readonly string[];
}

/**
 * Installs the consortium's rule (docs/governance.md). The first roster is accepted when every site
 * it lists has signed it. A replacement must be for the same consortium with a higher version, be
 * signed by every site it lists, and carry approvals (step `governance-rule`, inputSha256 = its
 * digest) from a majority of the stewards of the roster in force, checked with the steward keys
 * that roster pins: changing the rule takes the same signatures as a purge inside retention.
 * The installed roster, every refusal and every replacement are audit events.
 */
export async function installRoster(db: Db, request: RosterInstallRequest): Promise<RosterInstallResult> {
  const attempt: Attempt = {};
  const now = request.now ?? new Date();
  try {
    const roster = await parseRoster(request.roster);
    attempt.roster = roster;
    attempt.digest = rosterDigest(roster);
    await verifyRoster(roster);
    return await db.transaction(async (tx) => {
      await lockRosters(tx);
      const installed = await currentRoster(tx).catch((err: unknown) => {
        attempt.replacing = {}; // a roster is installed, but it does not verify
        throw err;
      });
      const digest = attempt.digest!;
      if (installed && installed.digest === digest) {
        return { outcome: 'unchanged', consortium: roster.consortium, version: roster.version, digest, acceptedAt: installed.acceptedAt, signers: [] };
      }
      let approvals: string[] = [];
      let signers: string[];
      if (!installed) {
        signers = (await rosterSignatures(roster)).signed.sort().map((s) => `steward:${s}`);
      } else {
        attempt.replacing = { digest: installed.digest };
        const current = installed.roster;
        if (roster.consortium !== current.consortium) {
          throw new GovernanceError('GOVERNANCE_ROSTER_CONFLICT', `the installed roster is for consortium ${current.consortium}; this one is for ${roster.consortium}`);
        }
        if (roster.version <= current.version) {
          throw new GovernanceError(roster.version === current.version ? 'GOVERNANCE_ROSTER_CONFLICT' : 'ROSTER_OUTDATED',
            `the installed roster of ${current.consortium} is version ${current.version} (digest ${installed.digest}); a replacement needs a higher version, this one is version ${roster.version}`);
        }
        const { pinned, rule } = rosterDecision(current, { auditors: false });
        const expected = { consortium: current.consortium, step: 'governance-rule' as const, inputSha256: digest, job: null, release: null, round: null };
        const result = tallyApprovals(request.approvals ?? [], pinned, expected, rule, now);
        const approvers = signerNames(result.signed);
        attempt.signers = approvers;
        if (!result.reached) {
          throw new GovernanceError('APPROVAL_QUORUM_NOT_MET',
            `replacing roster version ${current.version} of ${current.consortium} by version ${roster.version} needs the approvals of a majority of the installed roster's stewards: ${result.summary}`,
            { rejected: result.rejected });
        }
        approvals = (request.approvals ?? []).filter((a): a is string => typeof a === 'string');
        signers = approvers;
      }
      await storeRoster(tx, roster, digest, approvals, now);
      const event = rosterEvent(request.by, attempt, 'success', { signers });
      const entry = await appendInTransaction(tx, event);
      noteRequestEvent(event, { seq: entry.seq, hash: entry.hash });
      return { outcome: installed ? 'replaced' : 'installed', consortium: roster.consortium, version: roster.version, digest, acceptedAt: now.toISOString(), signers };
    });
  } catch (err) {
    if (err instanceof GovernanceError) {
      // Refused before the roster in force was read: the event still says whether this was to replace one.
      if (!attempt.replacing && await anyInstalled(db)) attempt.replacing = {};
      await recordRefusal(db, rosterEvent(request.by, attempt, 'denied', { reason: err.code, signers: attempt.signers ?? [] }));
    }
    throw err;
  }
}

async function anyInstalled(db: Db): Promise<boolean> {
  const { rows } = await db.query<{ n: string | number }>('SELECT count(*) AS n FROM governance_rosters');
  return Number(rows[0]?.n ?? 0) > 0;
}

function rosterEvent(by: GovernanceActor, attempt: Attempt, outcome: 'success' | 'denied', extra: { reason?: string; signers: readonly string[] }): AuditEventInput {
  const r = attempt.roster;
  return governanceEvent(by, {
    action: attempt.replacing ? 'governance.roster.replace' : 'governance.roster.install',
    resource: r ? `roster:${r.consortium}` : 'roster',
    outcome,
    details: {
      ...(r ? { consortium: r.consortium, version: r.version } : {}),
      ...(attempt.digest ? { sha256: attempt.digest } : {}),
      ...(attempt.replacing?.digest ? { old_sha256: attempt.replacing.digest } : {}),
      ...(extra.signers.length > 0 ? { signers: [...extra.signers] } : {}),
      ...(extra.reason ? { reason: extra.reason } : {}),
    },
  });
}
