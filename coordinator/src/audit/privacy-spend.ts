import type { AuditEventInput } from '@medfed/proto/audit/index';
import { LIFECYCLE_RULE } from './request-events.js';

/** A site's report of one round's charge to its privacy ledger (ReportMetrics.privacy_spend). */
export interface PrivacySpendReport {
  readonly epsilon: number;
  readonly delta: number;
  readonly dataset: string;
  readonly mechanism: string;
  readonly epsilonTotal: number;
  readonly epsilonBudget: number;
  readonly epsilonRemaining: number;
}

const DATASET = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const MECHANISMS = new Set(['gaussian', 'laplace']);

/**
 * The `privacy.spend` event for a site's reported charge, or the reason the report is refused. Only
 * budget figures and the dataset's identifier are kept: the report cannot carry anything else.
 */
export function privacySpendEvent(siteId: string, jobId: string, round: number, s: PrivacySpendReport): { event: AuditEventInput } | { problem: string } {
  const amounts = { epsilon: s.epsilon, delta: s.delta, epsilon_total: s.epsilonTotal, epsilon_budget: s.epsilonBudget };
  for (const [name, v] of Object.entries(amounts)) {
    if (!Number.isFinite(v) || v < 0) return { problem: `privacy_spend.${name} must be a finite number >= 0` };
  }
  if (!(s.delta < 1)) return { problem: 'privacy_spend.delta must be below 1' };
  if (!Number.isFinite(s.epsilonRemaining)) return { problem: 'privacy_spend.epsilon_remaining must be a finite number' };
  if (!DATASET.test(s.dataset)) return { problem: 'privacy_spend.dataset must be an identifier (letters, digits and ._-, at most 128 characters)' };
  if (!MECHANISMS.has(s.mechanism)) return { problem: `privacy_spend.mechanism must be one of ${[...MECHANISMS].join(', ')}` };
  return {
    event: {
      actor: siteId, role: 'node', site: siteId, action: 'privacy.spend', resource: `job:${jobId}/round:${round}`, outcome: 'success',
      rule: LIFECYCLE_RULE,
      details: {
        job: jobId, round, dataset: s.dataset, mechanism: s.mechanism, ...amounts, epsilon_remaining: s.epsilonRemaining,
      },
    },
  };
}
