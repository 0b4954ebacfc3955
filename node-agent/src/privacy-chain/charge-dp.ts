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

/** The ledger id of one round's training charge: one charge per (job, round) and round input. */
export function trainingChargeId(jobId: string, round: number, input?: { epoch: number; inputSha256: string }): string {
  return input ? `training:${jobId}:${round}:${input.epoch}:${input.inputSha256}` : `training:${jobId}:${round}`;
}

/**
 * Charges one round of DP-SGD to the site's budget before any training happens: the RDP curve
 * of `localEpochs * ceil(1/q)` Poisson-subsampled Gaussian steps. A round that would overspend
 * is refused (PRIVACY_BUDGET_EXCEEDED, with what remains) and nothing is trained.
 * Idempotent per `chargeId` (default `training:<job>:<round>`): a re-run of the same round gets the
 * first charge back with `charged: false`, with the same figures, and spends nothing.
 */
export async function chargeTrainingRound(options: {
  stateDir: string; dataset: string; budget: { epsilon: number; delta: number };
  spec: JobSpec; jobId: string; round: number; chargeId?: string;
}): Promise<(RoundCharge & { readonly charged: boolean }) | null> {
  const dp = options.spec.dp;
  if (!dp) return null;
  const ledger = new PrivacyLedger({ stateDir: options.stateDir, dataset: options.dataset });
  if (!(await ledger.read()).budget) await ledger.setBudget(options.budget);
  const steps = options.spec.training.localEpochs * Math.ceil(1 / dp.sampleRate);
  const rdp = roundRdp({ sampleRate: dp.sampleRate, noiseMultiplier: dp.noiseMultiplier, steps });
  const { charged, spentBefore, spentWith, budget } = await ledger.spendOnce({
    id: options.chargeId ?? trainingChargeId(options.jobId, options.round),
    purpose: `training ${options.jobId} round ${options.round}`, job: options.jobId, rdp, delta: dp.delta,
  });
  const epsilonBudget = budget?.epsilon ?? options.budget.epsilon;
  return {
    charged, epsilonSpent: spentWith.epsilon, epsilonRemaining: Math.max(0, epsilonBudget - spentWith.epsilon),
    epsilon: Math.max(0, spentWith.epsilon - spentBefore.epsilon), delta: dp.delta,
    epsilonBudget, dataset: ledger.dataset, mechanism: 'gaussian',
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
