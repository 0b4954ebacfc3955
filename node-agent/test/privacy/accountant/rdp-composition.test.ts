import { describe, expect, it } from '@jest/globals';
import {
  addRdp,
  composeRdp,
  computeEpsilon,
  computeRdp,
  DEFAULT_RDP_ORDERS,
  emptyRdp,
  rdpToEpsilon,
  rdpVectorEpsilon,
  roundRdp,
} from '../../../src/privacy/accountant/index.js';
import { PrivacyError } from '../../../src/privacy/errors.js';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return error instanceof PrivacyError ? error.code : `not a PrivacyError: ${String(error)}`;
  }
  return undefined;
};

describe('default orders', () => {
  it("are Opacus's: 1.1..10.9 by 0.1, then 12..63", () => {
    expect(DEFAULT_RDP_ORDERS).toHaveLength(99 + 52);
    expect(DEFAULT_RDP_ORDERS[0]).toBeCloseTo(1.1, 12);
    expect(DEFAULT_RDP_ORDERS[98]).toBeCloseTo(10.9, 12);
    expect(DEFAULT_RDP_ORDERS[99]).toBe(12);
    expect(DEFAULT_RDP_ORDERS.at(-1)).toBe(63);
  });
});

describe('per-round and cumulative accounting', () => {
  const round = { sampleRate: 0.01, noiseMultiplier: 1.1, steps: 100 };

  it('RDP vectors add across rounds: k rounds of T steps equal one run of k*T steps', () => {
    const cumulative = composeRdp([roundRdp(round), roundRdp(round), roundRdp(round)]);
    const single = computeRdp({ ...round, steps: 300 });
    cumulative.rdp.forEach((r, k) => expect(r).toBeCloseTo(single[k] as number, 10));
    expect(rdpVectorEpsilon(cumulative, 1e-5).epsilon).toBeCloseTo(computeEpsilon({ ...round, steps: 300, delta: 1e-5 }).epsilon, 10);
  });

  it('cumulative epsilon grows with every round and beats adding per-round epsilons', () => {
    let total = emptyRdp();
    let previous = 0;
    let naive = 0;
    for (let r = 0; r < 5; r++) {
      const one = roundRdp(round);
      naive += rdpVectorEpsilon(one, 1e-5).epsilon;
      total = addRdp(total, one);
      const eps = rdpVectorEpsilon(total, 1e-5).epsilon;
      expect(eps).toBeGreaterThan(previous);
      previous = eps;
    }
    expect(previous).toBeLessThan(naive);
  });

  it('refuses to add vectors computed at different orders', () => {
    const a = roundRdp({ ...round, orders: [2, 3, 4] });
    const b = roundRdp({ ...round, orders: [2, 3, 5] });
    expect(codeOf(() => addRdp(a, b))).toBe('PRIVACY_RDP_ORDERS_MISMATCH');
    expect(codeOf(() => rdpToEpsilon([2, 3], [0.1], 1e-5))).toBe('PRIVACY_RDP_ORDERS_MISMATCH');
  });

  it('an empty history spends nothing', () => {
    expect(rdpVectorEpsilon(composeRdp([]), 1e-5).epsilon).toBe(0);
  });
});

describe('conversion and validation', () => {
  it('more noise gives a smaller epsilon, more steps a larger one', () => {
    const base = { sampleRate: 0.02, noiseMultiplier: 1.0, steps: 500, delta: 1e-5 };
    const eps = computeEpsilon(base).epsilon;
    expect(computeEpsilon({ ...base, noiseMultiplier: 2 }).epsilon).toBeLessThan(eps);
    expect(computeEpsilon({ ...base, steps: 1000 }).epsilon).toBeGreaterThan(eps);
  });

  it('a constant RDP curve (pure DP of 1.1) picks the largest order', () => {
    // TF Privacy rdp_accountant_test.py test_get_privacy_spent_check_target_delta uses the same
    // curve; with this conversion the optimum is still the largest order.
    const orders = Array.from({ length: 31 }, (_, k) => 2 + k);
    const result = rdpToEpsilon(orders, orders.map(() => 1.1), 1e-5);
    expect(result.order).toBe(32);
    const expected = 1.1 + Math.log1p(-1 / 32) - Math.log(1e-5 * 32) / 31;
    expect(result.epsilon).toBeCloseTo(expected, 12);
  });

  it('zero noise has unbounded epsilon', () => {
    expect(computeEpsilon({ sampleRate: 0.1, noiseMultiplier: 0, steps: 10, delta: 1e-5 }).epsilon).toBe(Infinity);
  });

  it.each([
    [{ sampleRate: 1.5, noiseMultiplier: 1, steps: 1, delta: 1e-5 }],
    [{ sampleRate: -0.1, noiseMultiplier: 1, steps: 1, delta: 1e-5 }],
    [{ sampleRate: 0.1, noiseMultiplier: -1, steps: 1, delta: 1e-5 }],
    [{ sampleRate: 0.1, noiseMultiplier: 1, steps: 1.5, delta: 1e-5 }],
    [{ sampleRate: 0.1, noiseMultiplier: 1, steps: 1, delta: 0 }],
    [{ sampleRate: 0.1, noiseMultiplier: 1, steps: 1, delta: 1 }],
    [{ sampleRate: Number.NaN, noiseMultiplier: 1, steps: 1, delta: 1e-5 }],
    [{ sampleRate: 0.1, noiseMultiplier: 1, steps: 1, delta: 1e-5, orders: [1, 2] }],
  ])('refuses %j with PRIVACY_INVALID_PARAMETER', (query) => {
    expect(codeOf(() => computeEpsilon(query))).toBe('PRIVACY_INVALID_PARAMETER');
  });
});
