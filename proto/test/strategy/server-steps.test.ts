import { describe, expect, it } from '@jest/globals';
import {
  applyServerStep, decodeServerState, encodeServerState, resolveStrategy, type ServerState,
} from '../../src/strategy/index.js';

/** One round: the step from `global` with `delta`, for a strategy with explicit parameters. */
function step(name: string, params: Record<string, number>, global: number[], delta: number[], state: ServerState | null) {
  const resolved = resolveStrategy({ name, ...params }, { encrypted: true });
  return applyServerStep(resolved, Float32Array.from(global), Float32Array.from(delta), state);
}

const close = (actual: Float32Array, expected: number[], digits = 6) => {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, digits));
};

describe('server steps against hand-computed reference vectors', () => {
  it('fedavg adds the mean delta', () => {
    const r = step('fedavg', {}, [1, 2, 3], [0.5, -0.25, 0], null);
    expect(Array.from(r.global)).toEqual([1.5, 1.75, 3]);
    expect(r.state).toBeNull();
  });

  it('fedavgm: v1 = d1, w1 = w0 + eta v1; v2 = beta v1 + d2, w2 = w1 + eta v2', () => {
    // beta 0.5, eta 2: v1 = [1, -2], w1 = [2, -4]; v2 = [0.5 + 1, -1 + 0] = [1.5, -1], w2 = [5, -6]
    const r1 = step('fedavgm', { momentum: 0.5, serverLearningRate: 2 }, [0, 0], [1, -2], null);
    expect(Array.from(r1.global)).toEqual([2, -4]);
    const r2 = step('fedavgm', { momentum: 0.5, serverLearningRate: 2 }, Array.from(r1.global), [1, 0], r1.state);
    expect(Array.from(r2.global)).toEqual([5, -6]);
    expect(Array.from(r2.state!.vectors.velocity!)).toEqual([1.5, -1]);
  });

  it('fedadam with bias correction: round 1 moves by eta m/sqrt(v) = 1, round 2 by -1/3', () => {
    // b1 0.5, b2 0.75, eta 1, d1 = 0.5: m = 0.25, v = 0.0625, eta_t = sqrt(1-0.75)/(1-0.5) = 1, step = 0.25/0.25 = 1.
    const p = { beta1: 0.5, beta2: 0.75, serverLearningRate: 1, tau: 1e-9 };
    const r1 = step('fedadam', p, [10], [0.5], null);
    expect(Array.from(r1.global)).toEqual([11]);
    expect(r1.state!.scalars).toEqual({ beta1Power: 0.5, beta2Power: 0.75 });
    // d2 = -0.5: m = 0.125 - 0.25 = -0.125, v = 0.046875 + 0.0625 = 0.109375,
    // eta_t = sqrt(1-0.5625)/(1-0.25); step = eta_t m/sqrt(v) = (0.125/0.75) sqrt(0.4375/0.109375) = -1/3.
    const r2 = step('fedadam', p, [11], [-0.5], r1.state);
    close(r2.global, [11 - 1 / 3], 5);
    expect(Array.from(r2.state!.vectors.m!)).toEqual([-0.125]);
    expect(Array.from(r2.state!.vectors.v!)).toEqual([0.109375]);
  });

  it('fedyogi: v moves by at most (1-b2) d^2 per round, in the direction of d^2', () => {
    // b1 0.5, b2 0.75, eta 1, tau 0.5. d1 = 1: m = 0.5, v = 0 - 0.25 * 1 * sign(0 - 1) = 0.25, w += 0.5/(0.5+0.5) = 0.5.
    const p = { beta1: 0.5, beta2: 0.75, serverLearningRate: 1, tau: 0.5 };
    const r1 = step('fedyogi', p, [0], [1], null);
    expect(Array.from(r1.global)).toEqual([0.5]);
    expect(Array.from(r1.state!.vectors.v!)).toEqual([0.25]);
    // d2 = 0.25: d^2 = 0.0625 < v, so v shrinks: 0.25 - 0.25*0.0625 = 0.234375; m = 0.25 + 0.125 = 0.375;
    // w += 0.375 / (sqrt(0.234375) + 0.5)
    const r2 = step('fedyogi', p, [0.5], [0.25], r1.state);
    expect(Array.from(r2.state!.vectors.v!)).toEqual([0.234375]);
    close(r2.global, [0.5 + 0.375 / (Math.sqrt(0.234375) + 0.5)]);
  });

  it('fedadagrad: v accumulates d^2; with beta1 0 the step is eta d / (sqrt(v) + tau)', () => {
    const p = { serverLearningRate: 0.5, tau: 1e-9 };
    const r1 = step('fedadagrad', p, [1, 1], [2, -4], null);
    // v = [4, 16]; w += 0.5 * [2/2, -4/4] = [0.5, -0.5]
    expect(Array.from(r1.global)).toEqual([1.5, 0.5]);
    const r2 = step('fedadagrad', p, [1.5, 0.5], [0, 3], r1.state);
    // v = [4, 25]; w += 0.5 * [0, 3/5]
    expect(Array.from(r2.state!.vectors.v!)).toEqual([4, 25]);
    close(r2.global, [1.5, 0.8]);
  });

  it('fedprox steps like fedavg and hands mu to the sites', () => {
    const resolved = resolveStrategy({ name: 'fedprox', mu: 0.1 }, { encrypted: true });
    expect(resolved.clientConfig).toEqual({ proximalMu: 0.1 });
    expect(resolveStrategy({ name: 'fedprox' }, { encrypted: true }).clientConfig).toEqual({ proximalMu: 0.01 });
    expect(Array.from(applyServerStep(resolved, Float32Array.from([1]), Float32Array.from([0.5]), null).global)).toEqual([1.5]);
  });
});

describe('determinism', () => {
  it('the adaptive steps keep every value a float32 (state and model survive a float32 round trip unchanged)', () => {
    let global = Float32Array.from({ length: 257 }, (_, i) => Math.fround(Math.sin(i) / 3));
    let state: ServerState | null = null;
    for (let round = 1; round <= 5; round++) {
      const delta = Float32Array.from({ length: 257 }, (_, i) => Math.fround(Math.cos(i * round) / 10));
      const r = applyServerStep(resolveStrategy({ name: 'fedadam' }, { encrypted: true }), global, delta, state);
      for (const v of Object.values(r.state!.vectors)) expect(Array.from(Float32Array.from(v))).toEqual(Array.from(v));
      for (const s of Object.values(r.state!.scalars)) expect(Math.fround(s)).toBe(s);
      const reread = decodeServerState(encodeServerState(r.state!));
      expect(encodeServerState(reread).equals(encodeServerState(r.state!))).toBe(true);
      global = r.global;
      state = reread;
    }
    expect(state!.scalars.beta1Power).toBe(Math.fround(Math.fround(Math.fround(Math.fround(Math.fround(0.9) * Math.fround(0.9)) * Math.fround(0.9)) * Math.fround(0.9)) * Math.fround(0.9)));
  });
});

describe('resolveStrategy refuses what it cannot check', () => {
  const codeOf = (fn: () => unknown) => { try { fn(); } catch (e) { return (e as { code?: string }).code; } return 'none'; };
  it('an unknown strategy, an unknown parameter, a value out of range or not a number', () => {
    expect(codeOf(() => resolveStrategy({ name: 'fedsgd' }, { encrypted: false }))).toBe('STRATEGY_UNKNOWN');
    expect(codeOf(() => resolveStrategy({ name: 'fedavg', mu: 1 }, { encrypted: false }))).toBe('STRATEGY_SETTINGS_INVALID');
    expect(codeOf(() => resolveStrategy({ name: 'fedadam', serverLearningRate: 0 }, { encrypted: false }))).toBe('STRATEGY_SETTINGS_INVALID');
    expect(codeOf(() => resolveStrategy({ name: 'fedadam', beta1: 1 }, { encrypted: false }))).toBe('STRATEGY_SETTINGS_INVALID');
    expect(codeOf(() => resolveStrategy({ name: 'fedadam', tau: '1e-9' }, { encrypted: false }))).toBe('STRATEGY_SETTINGS_INVALID');
    expect(codeOf(() => resolveStrategy({ name: 'fedavgm', momentum: Number.NaN }, { encrypted: false }))).toBe('STRATEGY_SETTINGS_INVALID');
  });
  it('robust aggregators on an encrypted job', () => {
    for (const name of ['fedmedian', 'fedtrimmedavg', 'krum']) {
      expect(codeOf(() => resolveStrategy({ name }, { encrypted: true }))).toBe('STRATEGY_NEEDS_PLAINTEXT');
      expect(resolveStrategy({ name }, { encrypted: false }).definition.combination).toBe('individual');
    }
  });
  it('a server state that is truncated or padded', () => {
    const bytes = encodeServerState({ vectors: { m: Float32Array.from([1, 2]) }, scalars: { t: 1 } });
    expect(codeOf(() => decodeServerState(bytes.subarray(0, bytes.length - 1)))).toBe('STRATEGY_SETTINGS_INVALID');
    expect(codeOf(() => decodeServerState(Buffer.concat([bytes, Buffer.from([0])])))).toBe('STRATEGY_SETTINGS_INVALID');
  });
});

describe('robust aggregators', () => {
  const updates = [[1, 10], [2, -10], [3, 0], [100, 1], [4, 2]].map((d, k) => ({ siteId: `s${k}`, weight: 0.2, delta: Float32Array.from(d) }));
  const combine = (name: string, p: Record<string, number> = {}) => {
    const r = resolveStrategy({ name, ...p }, { encrypted: false });
    return Array.from(r.definition.combineIndividual!(updates, r.parameters));
  };
  it('fedmedian takes the coordinate-wise median, ignoring the outlier', () => {
    expect(combine('fedmedian')).toEqual([3, 1]);
  });
  it('fedtrimmedavg drops floor(beta n) values from each end', () => {
    // beta 0.2 of 5: one from each end. [2,3,4] -> 3; [0,1,2] -> 1
    expect(combine('fedtrimmedavg', { beta: 0.2 })).toEqual([3, 1]);
  });
  it('krum picks the update nearest its n - f - 2 neighbours', () => {
    // f = 1, n = 5: each update scored by the squared distances to its 2 nearest. s0: 73 + 104, s1: 101 + 148,
    // s2: 5 + 101, s3: 9217 + 9410, s4 ([4, 2]): 5 + 73, the lowest.
    expect(combine('krum', { byzantine: 1 })).toEqual([4, 2]);
  });
});
