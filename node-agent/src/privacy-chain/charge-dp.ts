import { roundRdp } from '../privacy/accountant/index.js';
import { PrivacyLedger } from '../privacy/ledger/index.js';
import type { JobSpec, PrivacySpend } from '@medfed/proto';

/** One round's charge, as the ledger took it. */
export interface RoundCharge {
  /** Spent on this dataset so far, this round included (kept for callers of the earlier shape). */
  readonly epsilonSpent: number;
  readonly epsilonRemaining: number;
  /** What this round added: the ledger's epsilon after the round minus before it. */
  readonly epsilon: number;
  readonly delta: number;
  readonly epsilonBudget: number;
  readonly dataset: string;
  readonly mechanism: 'gaussian';
}

/**
 * Charges one round of DP-SGD to the site's budget before any training happens: the RDP curve
 * of `localEpochs * ceil(1/q)` Poisson-subsampled Gaussian steps. A round that would overspend
 * is refused (PRIVACY_BUDGET_EXCEEDED, with what remains) and nothing is trained.
 */
export async function chargeTrainingRound(options: {
  stateDir: string; dataset: string; budget: { epsilon: number; delta: number };
  spec: JobSpec; jobId: string; round: number;
}): Promise<RoundCharge | null> {
  const dp = options.spec.dp;
  if (!dp) return null;
  const ledger = new PrivacyLedger({ stateDir: options.stateDir, dataset: options.dataset });
  const current = await ledger.read();
  if (!current.budget) await ledger.setBudget(options.budget);
  const steps = options.spec.training.localEpochs * Math.ceil(1 / dp.sampleRate);
  const rdp = roundRdp({ sampleRate: dp.sampleRate, noiseMultiplier: dp.noiseMultiplier, steps });
  await ledger.spend({ purpose: `training ${options.jobId} round ${options.round}`, job: options.jobId, rdp, delta: dp.delta });
  const after = await ledger.read();
  return {
    epsilonSpent: after.spent.epsilon, epsilonRemaining: after.remaining.epsilon,
    epsilon: Math.max(0, after.spent.epsilon - current.spent.epsilon), delta: dp.delta,
    epsilonBudget: after.budget?.epsilon ?? options.budget.epsilon, dataset: ledger.dataset, mechanism: 'gaussian',
  };
}

/**
 * The charge as the coordinator's audit trail receives it (ReportMetrics.privacy_spend): budget
 * figures and the dataset's identifier only, never anything about records.
 */
export function privacySpendReport(charge: RoundCharge): PrivacySpend {
  return {
    epsilon: charge.epsilon, delta: charge.delta, dataset: charge.dataset, mechanism: charge.mechanism,
    epsilonTotal: charge.epsilonSpent, epsilonBudget: charge.epsilonBudget, epsilonRemaining: charge.epsilonRemaining,
  };
}
