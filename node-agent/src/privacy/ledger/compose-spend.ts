import { addRdp, rdpVectorEpsilon, type RdpVector } from '../accountant/rdp-vector.js';
import type { LedgerEntry, PrivacyBudget } from './ledger-file.js';

/**
 * What a dataset has spent, from its entries:
 * - `basic` entries (statistics releases, masked noise) add up: epsilon = sum, delta = sum.
 * - `rdp` entries (DP-SGD training) add their RDP curves order by order; the cumulative curve is
 *   converted once, at delta_R = the largest delta any training entry asked for, giving
 *   (eps_R, delta_R). That pair then adds to the basic sums like one more release.
 * Converting the cumulative curve is never worse than adding each round's converted epsilon, which
 * is the point of keeping the curve.
 */
export function spentOf(entries: readonly LedgerEntry[]): PrivacyBudget {
  let epsilon = 0;
  let delta = 0;
  let curve: RdpVector | undefined;
  let rdpDelta = 0;
  for (const entry of entries) {
    if (entry.accounting === 'rdp' && entry.rdp !== undefined) {
      curve = curve === undefined ? entry.rdp : addRdp(curve, entry.rdp);
      rdpDelta = Math.max(rdpDelta, entry.delta);
    } else {
      epsilon += entry.epsilon;
      delta += entry.delta;
    }
  }
  if (curve !== undefined) {
    epsilon += rdpVectorEpsilon(curve, rdpDelta).epsilon;
    delta += rdpDelta;
  }
  return { epsilon, delta };
}

/** Floating-point slack so that ten spends of 0.1 fit a budget of 1. */
const RELATIVE_SLACK = 1e-9;

export function withinBudget(spent: PrivacyBudget, budget: PrivacyBudget): boolean {
  return (
    spent.epsilon <= budget.epsilon * (1 + RELATIVE_SLACK) + 1e-12 &&
    spent.delta <= budget.delta * (1 + RELATIVE_SLACK) + 1e-15
  );
}

export function remainingOf(spent: PrivacyBudget, budget: PrivacyBudget): PrivacyBudget {
  return { epsilon: Math.max(0, budget.epsilon - spent.epsilon), delta: Math.max(0, budget.delta - spent.delta) };
}
