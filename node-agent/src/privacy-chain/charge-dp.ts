import { roundRdp } from '../privacy/accountant/index.js';
import { PrivacyLedger } from '../privacy/ledger/index.js';
import type { JobSpec } from '@medfed/proto';

/**
 * Charges one round of DP-SGD to the site's budget before any training happens: the RDP curve
 * of `localEpochs * ceil(1/q)` Poisson-subsampled Gaussian steps. A round that would overspend
 * is refused (PRIVACY_BUDGET_EXCEEDED, with what remains) and nothing is trained.
 */
export async function chargeTrainingRound(options: {
  stateDir: string; dataset: string; budget: { epsilon: number; delta: number };
  spec: JobSpec; jobId: string; round: number;
}): Promise<{ epsilonSpent: number; epsilonRemaining: number } | null> {
  const dp = options.spec.dp;
  if (!dp) return null;
  const ledger = new PrivacyLedger({ stateDir: options.stateDir, dataset: options.dataset });
  const current = await ledger.read();
  if (!current.budget) await ledger.setBudget(options.budget);
  const steps = options.spec.training.localEpochs * Math.ceil(1 / dp.sampleRate);
  const rdp = roundRdp({ sampleRate: dp.sampleRate, noiseMultiplier: dp.noiseMultiplier, steps });
  await ledger.spend({ purpose: `training ${options.jobId} round ${options.round}`, job: options.jobId, rdp, delta: dp.delta });
  const after = await ledger.read();
  return { epsilonSpent: after.spent.epsilon, epsilonRemaining: after.remaining.epsilon };
}
