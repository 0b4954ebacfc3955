import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobSpec } from '@medfed/proto';
import { chargeTrainingRound, privacySpendReport } from '../../src/privacy-chain/charge-dp.js';
import { computeEpsilon } from '../../src/privacy/accountant/index.js';
import { clipUpdate } from '../../src/privacy-chain/clip-update.js';

const spec = (dp?: JobSpec['dp']): JobSpec => ({
  name: 'dp', features: ['a'], label: 'y', classes: ['n', 'y'], model: { hidden: [], activation: 'relu' },
  training: { localEpochs: 1, batchSize: 32, learningRate: 0.1, optimizer: 'sgd', seed: 1 }, rounds: 10, minSites: 1,
  roundDeadlineSeconds: 60, strategy: { name: 'fedavg' }, sites: ['s'], standardization: 'none', ...(dp ? { dp } : {}),
});

describe('the agent charges DP-SGD rounds to its own budget before training', () => {
  const dirs: string[] = [];
  afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });

  it('charges the accountant\'s epsilon per round and refuses the round that would overspend', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'medfed-dp-'));
    dirs.push(stateDir);
    const dp = { noiseMultiplier: 1.1, clipNorm: 1, sampleRate: 0.05, delta: 1e-5 };
    // RDP composes sublinearly: budget between two and three rounds' composed epsilon.
    const eps = (steps: number) => computeEpsilon({ sampleRate: 0.05, noiseMultiplier: 1.1, steps, delta: 1e-5 }).epsilon;
    const perRound = eps(20);
    const budget = { epsilon: (eps(40) + eps(60)) / 2, delta: 1e-5 };
    const charge = (round: number) => chargeTrainingRound({ stateDir, dataset: 'cohort', budget, spec: spec(dp), jobId: 'job-1', round });
    const first = await charge(1);
    expect(first!.epsilonSpent).toBeCloseTo(perRound, 6);
    const second = await charge(2);
    // What each round added to the ledger, as reported to the coordinator's audit trail.
    expect(first!.epsilon).toBeCloseTo(perRound, 6);
    expect(second!.epsilon).toBeCloseTo(eps(40) - eps(20), 6);
    expect(second!.epsilon).toBeLessThan(first!.epsilon); // RDP composes sublinearly
    expect(privacySpendReport(second!)).toEqual({
      epsilon: second!.epsilon, delta: 1e-5, dataset: 'cohort', mechanism: 'gaussian',
      epsilonTotal: second!.epsilonSpent, epsilonBudget: budget.epsilon, epsilonRemaining: second!.epsilonRemaining,
    });
    expect(second!.epsilonSpent + second!.epsilonRemaining).toBeCloseTo(budget.epsilon, 9);
    await expect(charge(3)).rejects.toMatchObject({ code: 'PRIVACY_BUDGET_EXCEEDED' });
    await expect(charge(3)).rejects.toThrow(/remain/i);
  });

  it('charges nothing for a job without DP', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'medfed-dp-'));
    dirs.push(stateDir);
    expect(await chargeTrainingRound({ stateDir, dataset: 'cohort', budget: { epsilon: 1, delta: 1e-5 }, spec: spec(), jobId: 'j', round: 1 })).toBeNull();
  });
});

describe('update-level clipping', () => {
  it('bounds the L2 norm and every coordinate, and leaves short updates alone', () => {
    const long = Float32Array.from({ length: 100 }, (_, i) => (i % 7) - 3);
    const { clipped, norm, scaled } = clipUpdate(long, 2);
    expect(scaled).toBe(true);
    expect(norm).toBeGreaterThan(2);
    expect(Math.hypot(...clipped)).toBeLessThanOrEqual(2 + 1e-5);
    for (const v of clipped) expect(Math.abs(v)).toBeLessThanOrEqual(2);
    const short = Float32Array.from([0.1, -0.2]);
    expect(clipUpdate(short, 2).clipped).toBe(short);
  });
});
