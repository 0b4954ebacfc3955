import { describe, expect, it } from '@jest/globals';
import { composeRdp, computeEpsilon, computeRdp, rdpVectorEpsilon, roundRdp } from '../../../src/privacy/accountant/index.js';

/**
 * Parity with published RDP accountants. Both TensorFlow Privacy (through dp_accounting's
 * RdpAccountant) and Opacus (analysis/rdp.py get_privacy_spent) convert RDP to (eps, delta) with
 * eps = rdp - (log(delta) + log(alpha)) / (alpha - 1) + log((alpha - 1) / alpha) (Balle et al. 2020),
 * which is the conversion used here. Each case lists the published number and its source.
 */

/** Orders of TF Privacy's compute_dp_sgd_privacy_lib.compute_dp_sgd_privacy. */
const TF_DP_SGD_ORDERS = [1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5, ...Array.from({ length: 59 }, (_, k) => 5 + k), 128, 256, 512];

const within1Percent = (actual: number, expected: number) => expect(Math.abs(actual / expected - 1)).toBeLessThan(0.01);

describe('RDP accountant parity with published numbers (within 1%)', () => {
  // tensorflow/privacy tensorflow_privacy/privacy/analysis/compute_dp_sgd_privacy_test.py,
  // test_compute_dp_sgd_privacy parameters (n, batch_size, noise_multiplier, epochs, delta, eps, order):
  //   ('Test0', 60000, 150, 1.3, 15, 1e-5, 0.7242234026109595, 19.0)
  //   ('Test1', 100000, 100, 1.0, 30, 1e-7, 1.4154988495444842, 13.0)
  //   ('Test2', 100000000, 1024, 0.1, 10, 1e-7, 5907982.3113978775, 1.25)
  // compute_dp_sgd_privacy uses q = batch_size / n and steps = ceil(epochs * n / batch_size).
  const tfCases = [
    { name: 'Test0 (MNIST-sized, sigma 1.3)', n: 60000, batch: 150, sigma: 1.3, epochs: 15, delta: 1e-5, eps: 0.7242234026109595, order: 19 },
    { name: 'Test1 (sigma 1.0, 30 epochs)', n: 100000, batch: 100, sigma: 1.0, epochs: 30, delta: 1e-7, eps: 1.4154988495444842, order: 13 },
    { name: 'Test2 (sigma 0.1: fractional order 1.25 wins)', n: 100000000, batch: 1024, sigma: 0.1, epochs: 10, delta: 1e-7, eps: 5907982.3113978775, order: 1.25 },
  ];
  it.each(tfCases)('TF Privacy compute_dp_sgd_privacy $name', ({ n, batch, sigma, epochs, delta, eps, order }) => {
    const result = computeEpsilon({
      sampleRate: batch / n,
      noiseMultiplier: sigma,
      steps: Math.ceil((epochs * n) / batch),
      delta,
      orders: TF_DP_SGD_ORDERS,
    });
    within1Percent(result.epsilon, eps);
    expect(result.order).toBe(order);
  });

  // pytorch/opacus opacus/tests/accountants_test.py, test_rdp_accountant:
  //   noise_multiplier = 1.5, sample_rate = 0.04, steps = int(90 / 0.04), delta = 1e-5
  //   assertAlmostEqual(epsilon, 7.32911117143), with RDPAccountant.DEFAULT_ALPHAS
  //   ([1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))), which are this accountant's defaults.
  it('Opacus RDPAccountant test_rdp_accountant (default orders)', () => {
    const result = computeEpsilon({ sampleRate: 0.04, noiseMultiplier: 1.5, steps: Math.trunc(90 / 0.04), delta: 1e-5 });
    within1Percent(result.epsilon, 7.32911117143);
  });

  // pytorch/opacus opacus/accountants/analysis/rdp.py module docstring (a doctest):
  //   parameters = [(1e-5, 1.0, 10), (1e-4, 3.0, 4)]  # (q, sigma, steps), composed
  //   orders = range(2, 33); get_privacy_spent(..., delta=1e-5) -> (0.336, 23)
  it('Opacus rdp.py composition example: two mechanisms composed', () => {
    const orders = Array.from({ length: 31 }, (_, k) => 2 + k);
    const total = composeRdp([
      roundRdp({ sampleRate: 1e-5, noiseMultiplier: 1.0, steps: 10, orders }),
      roundRdp({ sampleRate: 1e-4, noiseMultiplier: 3.0, steps: 4, orders }),
    ]);
    const result = rdpVectorEpsilon(total, 1e-5);
    within1Percent(result.epsilon, 0.336);
    expect(result.order).toBe(23);
  });
});

describe('RDP values against TF Privacy rdp_accountant_test.py', () => {
  // test_compute_rdp_sequence: compute_rdp(0.01, 2.5, 50, [1.5, 2.5, 5, 50, 100, inf])
  //   == [0.00065, 0.001085, 0.00218075, 0.023846, 167.416307, inf] (delta=1e-5 absolute)
  // Fractional orders 1.5 and 2.5 exercise the erfc series, the others the binomial expansion.
  it('compute_rdp sequence (q=0.01, sigma=2.5, 50 steps)', () => {
    const rdp = computeRdp({ sampleRate: 0.01, noiseMultiplier: 2.5, steps: 50, orders: [1.5, 2.5, 5, 50, 100, Infinity] });
    const expected = [0.00065, 0.001085, 0.00218075, 0.023846, 167.416307];
    expected.forEach((value, k) => expect(Math.abs((rdp[k] as number) - value)).toBeLessThan(1e-5));
    expect(rdp[5]).toBe(Infinity);
  });

  // test_compute_rdp_scalar: compute_rdp(0.1, 2, 10, 5) == 0.07737 (5 places)
  it('compute_rdp scalar (q=0.1, sigma=2, 10 steps, order 5)', () => {
    const [rdp] = computeRdp({ sampleRate: 0.1, noiseMultiplier: 2, steps: 10, orders: [5] });
    expect(Math.abs((rdp as number) - 0.07737)).toBeLessThan(5e-6);
  });

  // test_compute_rdp_no_sampling / test_compute_rdp_no_data: q = 1 gives alpha / (2 sigma^2); q = 0 gives 0.
  it('degenerate sampling rates', () => {
    expect(computeRdp({ sampleRate: 1, noiseMultiplier: 10, steps: 1, orders: [20] })).toEqual([0.1]);
    expect(computeRdp({ sampleRate: 0, noiseMultiplier: 10, steps: 1, orders: [20] })).toEqual([0]);
  });
});
