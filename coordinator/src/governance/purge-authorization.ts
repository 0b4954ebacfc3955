import { GovernanceError, expectedAuditPurge, purgeCutoff, rosterDecision, tallyApprovals } from '@medfed/proto/governance/index';
import type { Db } from '../storage/db.js';
import { governanceEvent, recordRefusal, signerNames, type GovernanceActor } from './events.js';
import { effectiveRetentionDays } from './retention.js';
import { currentRoster, type InstalledRoster } from './roster-store.js';

const DAY_MS = 86_400_000;

/** The signed approval of a purge inside retention, as its audit event records it. */
export interface PurgeApproval {
  readonly consortium: string;
  /** The roster version and digest whose stewards (or auditors) decided. */
  readonly version: number;
  readonly digest: string;
  /** `steward:<site>` and `auditor:<id>` of every valid approval counted. */
  readonly signers: readonly string[];
  /** The approvals counted (compact JWS, one per signer), recorded so a verifier who pinned the roster can re-check them. */
  readonly approvals: readonly string[];
}

export interface PurgeAuthorization {
  /** The retention in force: code minimum, configuration and the roster's rule, the longest of them. */
  readonly retentionDays: number;
  /** Set when the cut-off lies inside retention and the approvals reached the rule. */
  readonly approval: PurgeApproval | null;
}

export interface PurgeAuthorizationRequest {
  readonly before: Date;
  readonly force: boolean;
  readonly approvals: readonly unknown[];
  /** `audit.retentionDays` as configured. */
  readonly configuredRetentionDays: number | undefined;
  readonly by: GovernanceActor;
  readonly now: Date;
}

/**
 * Decides whether a purge may cut where it asks to (docs/governance.md). Outside the retention
 * period nothing is asked beyond the admin's role. Inside it (`force`), the purge needs signed
 * approvals (step `audit-purge`, over the canonical purge request) from a majority of the installed
 * roster's site stewards, or of its auditors if it names any: keys the coordinator never holds.
 * Without them it is refused with APPROVAL_QUORUM_NOT_MET and the refusal is an `audit.purge`
 * event naming who did sign. The roster is verified again here, since its rule may lengthen the
 * retention; a roster that no longer verifies refuses every purge.
 */
export async function authorizeAuditPurge(db: Db, request: PurgeAuthorizationRequest): Promise<PurgeAuthorization> {
  let installed: InstalledRoster | null = null;
  let signers: string[] = [];
  try {
    installed = await currentRoster(db);
    const retentionDays = effectiveRetentionDays(request.configuredRetentionDays, installed?.roster);
    const inside = request.before.getTime() > request.now.getTime() - retentionDays * DAY_MS;
    // Not forced, a cut inside retention is refused by the purge itself (AUDIT_PURGE_RETENTION).
    if (!inside || !request.force) return { retentionDays, approval: null };
    if (!installed) {
      throw new GovernanceError('APPROVAL_QUORUM_NOT_MET',
        'purging audit entries inside the retention period needs signed approvals by a majority of the consortium\'s stewards (or roster auditors), ' +
        'and no consortium roster is installed to say who they are (medfed governance roster install)');
    }
    const { roster } = installed;
    const { pinned, rule } = rosterDecision(roster, { auditors: true });
    const result = tallyApprovals(request.approvals, pinned, expectedAuditPurge(roster.consortium, request.before), rule, request.now);
    signers = signerNames(result.signed);
    if (!result.reached) {
      throw new GovernanceError('APPROVAL_QUORUM_NOT_MET',
        `purging audit entries before ${purgeCutoff(request.before)}, inside the retention period of ${retentionDays} days, needs signed approvals ` +
        `by a majority of the stewards of roster ${roster.consortium} v${roster.version}${rule.threshold.auditor ? ' or of its auditors' : ''}: ${result.summary}`,
        { rejected: result.rejected });
    }
    return { retentionDays, approval: { consortium: roster.consortium, version: roster.version, digest: installed.digest, signers, approvals: [...result.counted] } };
  } catch (err) {
    if (err instanceof GovernanceError) {
      await recordRefusal(db, governanceEvent(request.by, {
        action: 'audit.purge', resource: 'audit', outcome: 'denied',
        details: {
          before: purgeCutoff(request.before), reason: err.code,
          ...(installed ? { consortium: installed.roster.consortium, version: installed.roster.version, sha256: installed.digest } : {}),
          ...(signers.length > 0 ? { signers } : {}),
        },
      }));
    }
    throw err;
  }
}
