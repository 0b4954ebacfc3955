import { GovernanceError } from './errors.js';
import { expectedAuditPurge, purgeCutoff } from './purge-request.js';
import { rosterDecision } from './roster-rule.js';
import { rosterDigest, type Roster } from './roster.js';
import { tallyApprovals } from './steward-approval.js';

/**
 * The verifier's side of the consortium's rule (docs/governance.md, "Checking purges offline"):
 * whoever controls the coordinator's database can empty its roster table and install a roster of
 * keys of its own, which the coordinator cannot tell from a first install. A verifier who pinned
 * the roster the stewards signed can: every purge inside retention in an exported trail must name
 * a pinned roster's digest and carry approvals that reach that roster's rule, and every roster the
 * trail says was installed or replaced must be a pinned one. Pure: the caller reads the bundle and
 * the roster files (verified with verifyRoster) and feeds the entries in chain order.
 */
export interface CheckedPurge {
  readonly seq: number;
  readonly time: string;
  readonly before: string;
  readonly consortium: string;
  readonly version: number;
  readonly digest: string;
  /** `steward:<site>` and `auditor:<id>` whose approvals were counted here. */
  readonly approvedBy: readonly string[];
}

export interface CheckedRosterChange {
  readonly seq: number;
  readonly action: 'governance.roster.install' | 'governance.roster.replace';
  readonly version: number;
  readonly digest: string;
}

export interface GovernedEventsReport {
  /** Successful purges inside retention, each approved under a pinned roster. */
  readonly purges: readonly CheckedPurge[];
  /** Successful roster installs and replacements, each of a pinned roster. */
  readonly rosterChanges: readonly CheckedRosterChange[];
  /** Entries the bundle holds as hashes only (outside an export's filter): their content cannot be checked. */
  readonly hashOnly: number;
}

type Entry = Readonly<Record<string, unknown>>;

const ROSTER_ACTIONS = ['governance.roster.install', 'governance.roster.replace'] as const;

/** Checks entries one at a time (a bundle streams them); keeps the first refusal for `finish`. */
export class GovernedEventsVerifier {
  readonly #pinned: ReadonlyMap<string, Roster>;
  readonly #purges: CheckedPurge[] = [];
  readonly #changes: CheckedRosterChange[] = [];
  #hashOnly = 0;
  #refusal: GovernanceError | null = null;

  /** `rosters`: the rosters the verifier pinned, each already verified (verifyRoster). */
  constructor(rosters: readonly Roster[]) {
    this.#pinned = new Map(rosters.map((r) => [rosterDigest(r), r]));
  }

  push(entry: unknown): void {
    if (this.#refusal || typeof entry !== 'object' || entry === null || Array.isArray(entry)) return;
    const e = entry as Entry;
    if (typeof e.action !== 'string') {
      this.#hashOnly++;
      return;
    }
    if (e.outcome !== 'success') return;
    try {
      if (e.action === 'audit.purge') this.#purge(e);
      else if ((ROSTER_ACTIONS as readonly string[]).includes(e.action)) this.#rosterChange(e);
    } catch (err) {
      if (!(err instanceof GovernanceError)) throw err;
      this.#refusal = err;
    }
  }

  /** The report, or the first refusal (AUDIT_PURGE_NOT_APPROVED, GOVERNANCE_ROSTER_UNPINNED). */
  finish(): GovernedEventsReport {
    if (this.#refusal) throw this.#refusal;
    return { purges: [...this.#purges], rosterChanges: [...this.#changes], hashOnly: this.#hashOnly };
  }

  #pinnedList(): string {
    return [...this.#pinned].map(([digest, r]) => `${r.consortium} v${r.version} (${digest})`).join(', ');
  }

  #purge(e: Entry): void {
    const details = detailsOf(e);
    // Outside retention a purge is the admin's alone: nothing to check against the roster.
    if (details.reason !== 'RETENTION_OVERRIDE') return;
    const seq = e.seq as number;
    const digest = typeof details.sha256 === 'string' ? details.sha256 : null;
    const refuse = (what: string): never => {
      throw new GovernanceError('AUDIT_PURGE_NOT_APPROVED',
        `the purge inside retention at seq ${seq} (before ${String(details.before)}) names roster digest ${digest ?? '(none)'}: ${what}`, { seq, digest });
    };
    if (!digest) return refuse('it names no roster, so nothing shows the stewards decided it');
    const roster = this.#pinned.get(digest);
    if (!roster) return refuse(`that is not the digest of a roster pinned here (pinned: ${this.#pinnedList()}), so the keys that approved it are not the consortium's`);
    const approvals = Array.isArray(details.approvals) ? details.approvals as unknown[] : [];
    if (approvals.length === 0) return refuse(`it carries no signed approvals to check against roster ${roster.consortium} v${roster.version}`);
    let before: string;
    try {
      before = purgeCutoff(details.before as string);
    } catch {
      return refuse('its cut-off is not an instant');
    }
    const at = new Date(typeof e.time === 'string' ? e.time : Number.NaN);
    if (Number.isNaN(at.getTime())) return refuse('its time is not an instant, so its approvals\' expiry cannot be checked');
    const { pinned, rule } = rosterDecision(roster, { auditors: true });
    // The approvals are short-lived: they must have been valid when the purge ran.
    const result = tallyApprovals(approvals, pinned, expectedAuditPurge(roster.consortium, before), rule, at);
    if (!result.reached) return refuse(`its approvals do not reach the rule of roster ${roster.consortium} v${roster.version}: ${result.summary}`);
    this.#purges.push({
      seq, time: e.time as string, before, consortium: roster.consortium, version: roster.version, digest,
      approvedBy: [...result.signed.steward.map((s) => `steward:${s}`), ...result.signed.auditor.map((a) => `auditor:${a}`)],
    });
  }

  #rosterChange(e: Entry): void {
    const details = detailsOf(e);
    const digest = typeof details.sha256 === 'string' ? details.sha256 : null;
    if (digest && this.#pinned.has(digest)) {
      this.#changes.push({ seq: e.seq as number, action: e.action as CheckedRosterChange['action'], version: details.version as number, digest });
      return;
    }
    throw new GovernanceError('GOVERNANCE_ROSTER_UNPINNED',
      `${String(e.action)} at seq ${String(e.seq)} put roster ${String(details.consortium)} v${String(details.version)} (digest ${digest ?? '(none)'}) in force on the coordinator, ` +
      `and it is not a roster pinned here (pinned: ${this.#pinnedList()}); a legitimate rule change means pinning the new roster too (--roster)`,
      { seq: e.seq, digest });
  }
}

function detailsOf(e: Entry): Readonly<Record<string, unknown>> {
  const d = e.details;
  return typeof d === 'object' && d !== null && !Array.isArray(d) ? d as Record<string, unknown> : {};
}

/** Checks a whole list of entries (see GovernedEventsVerifier). */
export function verifyGovernedEvents(entries: Iterable<unknown>, rosters: readonly Roster[]): GovernedEventsReport {
  const verifier = new GovernedEventsVerifier(rosters);
  for (const entry of entries) verifier.push(entry);
  return verifier.finish();
}
