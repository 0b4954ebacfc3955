import type { AuditEntry } from '../event.js';
import { canonicalJson } from '../jcs.js';
import { eventJob, type AuditFilter } from '../scope.js';
import type { AccessRow, AnomalyRow, AuditEventRow, AuditReport, PrivacyRow } from './model.js';

/** `, signed by steward:site-a, steward:site-b` when the event names who signed. */
function approvedBy(e: AuditEntry): string {
  const signers = e.details['signers'];
  return Array.isArray(signers) && signers.length > 0 ? `, signed by ${signers.join(', ')}` : '';
}

/** Single-event anomalies, as data. Each matching event is listed for review. */
const ANOMALY_RULES: readonly { readonly kind: string; readonly test: (e: AuditEntry) => boolean; readonly describe: (e: AuditEntry) => string }[] = [
  { kind: 'Sandbox breach', test: (e) => e.action === 'sandbox.breach', describe: (e) => `${e.actor} at ${e.site ?? 'no site'}: ${String(e.details['reason'] ?? 'breach reported')}` },
  // An attested submission carries its verdict in its own event (older trails: a separate attestation.verdict).
  { kind: 'Attestation failed', test: (e) => (e.action === 'attestation.verdict' && (e.details['verdict'] === 'fail' || e.outcome !== 'success'))
      || (e.action === 'submission.receive' && e.details['verdict'] === 'fail'), describe: (e) => `${e.actor}: ${String(e.details['reason'] ?? 'verdict fail')}` },
  { kind: 'Privacy budget exceeded', test: (e) => e.action === 'privacy.spend' && typeof e.details['epsilon_remaining'] === 'number' && e.details['epsilon_remaining'] < 0, describe: (e) => `${eventJob(e) ?? e.resource}: epsilon remaining ${String(e.details['epsilon_remaining'])}` },
  { kind: 'Action failed', test: (e) => e.outcome === 'failure' && e.action !== 'attestation.verdict' && e.details['verdict'] !== 'fail', describe: (e) => `${e.action} on ${e.resource} by ${e.actor}` },
  { kind: 'Audit entries purged', test: (e) => e.action === 'audit.purge' && e.outcome === 'success', describe: (e) => `through seq ${String(e.details['through_seq'] ?? '?')} by ${e.actor}${approvedBy(e)}` },
  { kind: 'Audit purge refused', test: (e) => e.action === 'audit.purge' && e.outcome !== 'success', describe: (e) => `before ${String(e.details['before'] ?? '?')} by ${e.actor}: ${String(e.details['reason'] ?? 'refused')}` },
  // The consortium's rule (docs/governance.md): who decides purges and rule changes.
  { kind: 'Consortium rule changed', test: (e) => e.action.startsWith('governance.roster.') && e.outcome === 'success',
    describe: (e) => `roster ${String(e.details['consortium'] ?? '?')} v${String(e.details['version'] ?? '?')} (${String(e.details['sha256'] ?? '?')}) by ${e.actor}${approvedBy(e)}` },
];

/**
 * Actions the "model releases" section lists: the release workflow's steps (`release.request`,
 * `release.approve`, `release.decrypt`, `release.countersign`, `release.publish`, `release.refuse`, and
 * any later step under `release.`), plus the published model's own release and download events.
 */
export function isReleaseAction(action: string): boolean {
  return action.startsWith('release.') || action === 'model.release' || action === 'model.download';
}

/** An actor refused this many times within the report's range is listed as an anomaly. */
const REPEATED_DENIALS = 5;

interface AccessTally { total: number; denied: number; failed: number; related: Set<string>; first: string; last: string }

function tally(map: Map<string, AccessTally>, key: string, e: AuditEntry, related: string): void {
  let t = map.get(key);
  if (!t) {
    t = { total: 0, denied: 0, failed: 0, related: new Set(), first: e.time, last: e.time };
    map.set(key, t);
  }
  t.total++;
  if (e.outcome === 'denied') t.denied++;
  if (e.outcome === 'failure') t.failed++;
  t.related.add(related);
  if (e.time < t.first) t.first = e.time;
  if (e.time > t.last) t.last = e.time;
}

function accessRows(map: Map<string, AccessTally>): AccessRow[] {
  return [...map.entries()]
    .map(([key, t]) => ({ key, total: t.total, denied: t.denied, failed: t.failed, related: [...t.related].sort().slice(0, 20), first: t.first, last: t.last }))
    .sort((a, b) => b.total - a.total || a.key.localeCompare(b.key));
}

function row(e: AuditEntry): AuditEventRow {
  return { seq: e.seq, time: e.time, actor: e.actor, role: e.role, site: e.site, action: e.action, resource: e.resource, outcome: e.outcome, rule: e.rule, details: Object.keys(e.details).length ? canonicalJson(e.details) : '' };
}

/**
 * Accumulates the report in one pass over the visible entries, in memory bounded by the number of
 * distinct actors, roles, sites and jobs, plus `listLimit` rows per listing.
 */
export class AuditReportBuilder {
  readonly #filter: AuditFilter;
  readonly #limit: number;
  readonly #byUser = new Map<string, AccessTally>();
  readonly #byRole = new Map<string, AccessTally>();
  readonly #bySite = new Map<string, AccessTally>();
  readonly #privacy = new Map<string, { job: string; site: string; spends: number; epsilon: number; delta: number; epsilonRemaining: number | null }>();
  readonly #denials: AuditEventRow[] = [];
  readonly #releases: AuditEventRow[] = [];
  readonly #anomalies: AnomalyRow[] = [];
  #deniedTotal = 0;
  #releaseTotal = 0;
  #anomalyTotal = 0;
  #entries = 0;
  #firstTime: string | null = null;
  #lastTime: string | null = null;
  #integrityProblem: string | null = null;

  constructor(options: { filter: AuditFilter; listLimit?: number }) {
    this.#filter = options.filter;
    this.#limit = options.listLimit ?? 500;
  }

  add(e: AuditEntry): void {
    this.#entries++;
    if (this.#firstTime === null || e.time < this.#firstTime) this.#firstTime = e.time;
    if (this.#lastTime === null || e.time > this.#lastTime) this.#lastTime = e.time;
    tally(this.#byUser, e.actor, e, e.role);
    tally(this.#byRole, e.role, e, e.actor);
    tally(this.#bySite, e.site ?? '(none)', e, e.actor);
    if (e.outcome === 'denied') {
      this.#deniedTotal++;
      if (this.#denials.length < this.#limit) this.#denials.push(row(e));
    }
    if (isReleaseAction(e.action)) {
      this.#releaseTotal++;
      if (this.#releases.length < this.#limit) this.#releases.push(row(e));
    }
    if (e.action === 'privacy.spend' && e.outcome === 'success') {
      const job = eventJob(e) ?? '(none)';
      const site = e.site ?? '(none)';
      const key = `${job}\u0000${site}`;
      const p = this.#privacy.get(key) ?? { job, site, spends: 0, epsilon: 0, delta: 0, epsilonRemaining: null };
      p.spends++;
      p.epsilon += typeof e.details['epsilon'] === 'number' ? e.details['epsilon'] : 0;
      p.delta += typeof e.details['delta'] === 'number' ? e.details['delta'] : 0;
      if (typeof e.details['epsilon_remaining'] === 'number') p.epsilonRemaining = e.details['epsilon_remaining'];
      this.#privacy.set(key, p);
    }
    for (const rule of ANOMALY_RULES) {
      if (rule.test(e)) this.#anomaly({ seq: e.seq, time: e.time, kind: rule.kind, description: rule.describe(e) });
    }
  }

  /** Records that the chain did not verify while the report was being made. */
  integrityProblem(message: string): void {
    this.#integrityProblem ??= message;
  }

  build(range: { firstSeq: number | null; lastSeq: number | null; hashOnly: number }, generatedAt: string): AuditReport {
    const anomalies = [...this.#anomalies];
    let anomalyTotal = this.#anomalyTotal;
    if (this.#integrityProblem) {
      anomalies.unshift({ seq: null, time: null, kind: 'Chain integrity', description: this.#integrityProblem });
      anomalyTotal++;
    }
    for (const [actor, t] of this.#byUser) {
      if (t.denied >= REPEATED_DENIALS) {
        anomalyTotal++;
        if (anomalies.length < this.#limit) anomalies.push({ seq: null, time: t.last, kind: 'Repeated denials', description: `${actor} was refused ${t.denied} times` });
      }
    }
    const list = <T>(rows: T[], total = rows.length) => ({ total, rows: rows.slice(0, this.#limit) });
    const f = this.#filter;
    return {
      title: 'medfed audit report',
      generatedAt,
      filter: { from: f.from ?? null, to: f.to ?? null, job: f.job ?? null, site: f.site ?? null },
      range: { firstSeq: range.firstSeq, lastSeq: range.lastSeq, entries: this.#entries, hashOnly: range.hashOnly, firstTime: this.#firstTime, lastTime: this.#lastTime },
      integrity: { verified: this.#integrityProblem === null, problem: this.#integrityProblem },
      byUser: list(accessRows(this.#byUser)),
      byRole: list(accessRows(this.#byRole)),
      bySite: list(accessRows(this.#bySite)),
      denials: list(this.#denials, this.#deniedTotal),
      modelReleases: list(this.#releases, this.#releaseTotal),
      privacy: list([...this.#privacy.values()]
        .sort((a, b) => a.job.localeCompare(b.job) || a.site.localeCompare(b.site))
        // Sums of binary fractions drift in the last digits; twelve significant digits is what a reader needs.
        .map((p): PrivacyRow => ({ ...p, epsilon: Number(p.epsilon.toPrecision(12)), delta: Number(p.delta.toPrecision(12)) }))),
      anomalies: list(anomalies, anomalyTotal),
    };
  }

  #anomaly(a: AnomalyRow): void {
    this.#anomalyTotal++;
    if (this.#anomalies.length < this.#limit) this.#anomalies.push(a);
  }
}
