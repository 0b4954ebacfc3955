import { describe, expect, it } from '@jest/globals';
import { resolveStrategy, STRATEGY_NAMES, type ServerState } from '@medfed/proto';
import { runPlaintextRound, type PlaintextUpdate } from '../../src/strategies/index.js';

async function* stream(items: PlaintextUpdate[]): AsyncIterable<PlaintextUpdate> {
  for (const u of items) yield u;
}

const u = (siteId: string, update: number[]): PlaintextUpdate => ({ siteId, update: Float32Array.from(update) });

function expectVector(actual: Float32Array, expected: number[]): void {
  expect(actual).toHaveLength(expected.length);
  expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, 6));
}

/** The sites' shares as the coordinator announces them (sample counts 1 and 3, then a round where site-a holds half). */
const shares: Record<string, number> = { 'site-a': 0.25, 'site-b': 0.75 };

function round(name: string, settings: Record<string, number>, global: Float32Array, updates: PlaintextUpdate[], state: ServerState | null = null,
  weightOf: (site: string) => number = (s) => shares[s]!) {
  return runPlaintextRound({ strategy: resolveStrategy({ name, ...settings }, { encrypted: false }), global, state, fracBits: 24, weightOf, updates: stream(updates) });
}

/** Reference values computed by hand from the papers' update rules (in the names); the mean is the fixed-point one, so 6 digits. */
describe('server steps of the plaintext runner, against hand-computed vectors', () => {
  const global = Float32Array.from([1, 2]);
  // Weighted mean delta of A (share 1/4, [0.5, -1]) and B (share 3/4, [0.1, 0.2]): [(0.5 + 0.3) / 4, (-1 + 0.6) / 4] = [0.2, -0.1].
  const round1 = [u('site-a', [0.5, -1]), u('site-b', [0.1, 0.2])];

  it('FedAvg adds the weighted mean delta: [1, 2] + [0.2, -0.1] = [1.2, 1.9]', async () => {
    const r = await round('fedavg', {}, global, round1);
    expectVector(r.global, [1.2, 1.9]);
    expect(r).toMatchObject({ state: null, contributors: ['site-a', 'site-b'], totalWeight: 1 });
  });

  it('FedProx takes the same server step as FedAvg (its proximal term is in the sites\' objective)', async () => {
    const r = await round('fedprox', { mu: 0.1 }, global, round1);
    expectVector(r.global, [1.2, 1.9]);
  });

  it('FedAvgM keeps server momentum across rounds: v1 = [0.2, -0.1], w1 = [1.2, 1.9]; v2 = 0.9 v1 + [0.1, 0.1] = [0.28, 0.01], w2 = [1.48, 1.91]', async () => {
    const s = { momentum: 0.9, serverLearningRate: 1 };
    const first = await round('fedavgm', s, global, round1);
    expectVector(first.global, [1.2, 1.9]);
    expectVector(first.state!.vectors.velocity!, [0.2, -0.1]);
    // Round 2: site-a alone, with half the weight; the mean divides by the contributors' weight, so it is site-a's delta.
    const second = await round('fedavgm', s, first.global, [u('site-a', [0.1, 0.1])], first.state, () => 0.5);
    expect(second.totalWeight).toBe(0.5);
    expectVector(second.global, [1.48, 1.91]);
    expectVector(second.state!.vectors.velocity!, [0.28, 0.01]);
  });

  it('FedAvgM scales the step by the server learning rate: eta 0.5 gives [1.1, 1.95]', async () => {
    const r = await round('fedavgm', { momentum: 0.9, serverLearningRate: 0.5 }, global, round1);
    expectVector(r.global, [1.1, 1.95]);
  });

  it('FedMedian takes the coordinate-wise median of the deltas: median([0.5, 0.1, -0.2]) = 0.1, median([-1, 0.2, 0.4]) = 0.2', async () => {
    const r = await round('fedmedian', {}, global, [u('site-a', [0.5, -1]), u('site-b', [0.1, 0.2]), u('site-c', [-0.2, 0.4])], null, () => 1 / 3);
    expectVector(r.global, [1.1, 2.2]);
  });

  it.each(STRATEGY_NAMES)('%s refuses an update of the wrong length', async (name) => {
    await expect(round(name, {}, global, [u('site-a', [0.1])])).rejects.toThrow('update of site-a has 1 values, expected 2');
  });

  it('a round whose contributors carry no weight is refused rather than divided by zero', async () => {
    await expect(round('fedavg', {}, global, [])).rejects.toThrow('carry no weight');
    await expect(round('fedavg', {}, global, round1, null, () => 0)).rejects.toThrow('carry no weight');
  });
});
