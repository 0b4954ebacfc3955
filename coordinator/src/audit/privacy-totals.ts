import type { Queryable } from '../storage/db.js';

/** One site's privacy spending on one job, summed from its privacy.spend events. */
export interface SitePrivacyTotal {
  readonly site: string;
  readonly dataset: string | null;
  /** Rounds charged. */
  readonly spends: number;
  /** Epsilon this job added to the site's ledger (sum of the rounds' charges), and delta likewise. */
  readonly epsilon: number;
  readonly delta: number;
  /** The ledger after the latest charge: spent in all, the budget, what remains. */
  readonly epsilonTotal: number | null;
  readonly epsilonBudget: number | null;
  readonly epsilonRemaining: number | null;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Privacy budget spent on a job, per site, from the audit trail (the sites' ledgers report each charge). */
export async function privacyTotals(db: Queryable, jobId: string): Promise<SitePrivacyTotal[]> {
  const { rows } = await db.query<{ site: string | null; event: string }>(
    `SELECT site, event FROM audit_events WHERE job = $1 AND action = 'privacy.spend' AND outcome = 'success' ORDER BY seq`, [jobId]);
  const bySite = new Map<string, { dataset: string | null; spends: number; epsilon: number; delta: number; total: number | null; budget: number | null; remaining: number | null }>();
  for (const r of rows) {
    const d = (JSON.parse(r.event) as { details?: Record<string, unknown> }).details ?? {};
    const site = r.site ?? '(none)';
    const t = bySite.get(site) ?? { dataset: null, spends: 0, epsilon: 0, delta: 0, total: null, budget: null, remaining: null };
    t.spends++;
    t.epsilon += num(d['epsilon']) ?? 0;
    t.delta += num(d['delta']) ?? 0;
    t.dataset = typeof d['dataset'] === 'string' ? d['dataset'] : t.dataset;
    t.total = num(d['epsilon_total']) ?? t.total;
    t.budget = num(d['epsilon_budget']) ?? t.budget;
    t.remaining = num(d['epsilon_remaining']) ?? t.remaining;
    bySite.set(site, t);
  }
  // Sums of binary fractions drift in the last digits; twelve significant digits is what a reader needs.
  const round = (v: number) => Number(v.toPrecision(12));
  return [...bySite.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([site, t]) => ({
    site, dataset: t.dataset, spends: t.spends, epsilon: round(t.epsilon), delta: round(t.delta),
    epsilonTotal: t.total, epsilonBudget: t.budget, epsilonRemaining: t.remaining,
  }));
}
