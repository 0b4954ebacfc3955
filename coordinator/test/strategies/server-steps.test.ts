import { describe, expect, it } from '@jest/globals';
import type { StrategySettings } from '@medfed/proto';
import { STRATEGIES, strategyFor, type Contribution } from '../../src/strategies/index.js';

async function* stream(items: Contribution[]): AsyncIterable<Contribution> {
  for (const c of items) yield c;
}

const c = (siteId: string, numSamples: number, update: number[]): Contribution => ({ siteId, numSamples, update: Float32Array.from(update) });
const settings = (s: Partial<StrategySettings> & { name: StrategySettings['name'] }) => s as StrategySettings;

function expectVector(actual: Float32Array, expected: number[]): void {
  expect(actual).toHaveLength(expected.length);
  expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, 6));
}

/** Reference values computed by hand from the papers' update rules (in the names); updates arrive as float32, so 7 digits. */
describe('server steps of the plaintext strategies, against hand-computed vectors', () => {
  const global = Float32Array.from([1, 2]);
  // Sample-weighted mean delta of A (1 sample, [0.5, -1]) and B (3 samples, [0.1, 0.2]): [(0.5 + 0.3) / 4, (-1 + 0.6) / 4] = [0.2, -0.1].
  const round1 = () => stream([c('site-a', 1, [0.5, -1]), c('site-b', 3, [0.1, 0.2])]);

  it('FedAvg adds the sample-weighted mean delta: [1, 2] + [0.2, -0.1] = [1.2, 1.9]', async () => {
    const r = await strategyFor('fedavg').aggregate({ global, contributions: round1(), state: null, settings: settings({ name: 'fedavg' }) });
    expectVector(r.global, [1.2, 1.9]);
    expect(r).toMatchObject({ state: null, contributors: 2, totalSamples: 4 });
  });

  it('FedProx takes the same server step as FedAvg (its proximal term is in the sites\' objective)', async () => {
    const r = await strategyFor('fedprox').aggregate({ global, contributions: round1(), state: null, settings: settings({ name: 'fedprox' }) });
    expectVector(r.global, [1.2, 1.9]);
  });

  it('FedAvgM keeps server momentum across rounds: v1 = [0.2, -0.1], w1 = [1.2, 1.9]; v2 = 0.9 v1 + [0.1, 0.1] = [0.28, 0.01], w2 = [1.48, 1.91]', async () => {
    const s = settings({ name: 'fedavgm', momentum: 0.9, serverLearningRate: 1 } as never);
    const first = await strategyFor('fedavgm').aggregate({ global, contributions: round1(), state: null, settings: s });
    expectVector(first.global, [1.2, 1.9]);
    expect(first.state?.velocity?.[0]).toBeCloseTo(0.2, 7);
    expect(first.state?.velocity?.[1]).toBeCloseTo(-0.1, 7);
    const second = await strategyFor('fedavgm').aggregate({ global: first.global, contributions: stream([c('site-a', 2, [0.1, 0.1])]), state: first.state, settings: s });
    expectVector(second.global, [1.48, 1.91]);
    expect(second.state?.velocity?.[0]).toBeCloseTo(0.28, 7);
    expect(second.state?.velocity?.[1]).toBeCloseTo(0.01, 7);
  });

  it('FedAvgM scales the step by the server learning rate: eta 0.5 gives [1.1, 1.95]', async () => {
    const s = settings({ name: 'fedavgm', momentum: 0.9, serverLearningRate: 0.5 } as never);
    const r = await strategyFor('fedavgm').aggregate({ global, contributions: round1(), state: null, settings: s });
    expectVector(r.global, [1.1, 1.95]);
  });

  it.each(Object.keys(STRATEGIES) as StrategySettings['name'][])('%s refuses an update of the wrong length', async (name) => {
    await expect(strategyFor(name).aggregate({ global, contributions: stream([c('site-a', 1, [0.1])]), state: null, settings: settings({ name }) }))
      .rejects.toThrow('update of site-a has 1 values, expected 2');
  });

  it('FedAvg with no contributions leaves the model as it was', async () => {
    const r = await strategyFor('fedavg').aggregate({ global, contributions: stream([]), state: null, settings: settings({ name: 'fedavg' }) });
    expectVector(r.global, [1, 2]);
    expect(r).toMatchObject({ contributors: 0, totalSamples: 0 });
  });
});
