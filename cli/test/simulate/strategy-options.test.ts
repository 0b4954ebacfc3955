import { describe, expect, it } from '@jest/globals';
import { StrategyError } from '@medfed/proto';
import { chooseStrategy } from '../../src/simulate/strategy-options.js';
import { roundParamsSha256 } from '../../src/simulate/round-digests.js';

describe('the strategy options of medfed simulate', () => {
  it('defaults to fedavg with no parameters', () => {
    const chosen = chooseStrategy({ strategy: 'fedavg' }, true);
    expect(chosen.settings).toEqual({ name: 'fedavg' });
    expect(chosen.resolved.parameters).toEqual({});
  });

  it('sets the server learning rate and any declared parameter, and fills in the rest', () => {
    const chosen = chooseStrategy({ strategy: 'fedadam', serverLr: '0.03', strategyParam: ['beta1=0.8'] }, true);
    expect(chosen.settings).toEqual({ name: 'fedadam', serverLearningRate: 0.03, beta1: 0.8 });
    expect(chosen.resolved.parameters).toEqual({ serverLearningRate: 0.03, beta1: 0.8, beta2: 0.99, tau: 1e-9 });
  });

  it.each([
    ['--server-lr on a strategy without one', { strategy: 'fedprox', serverLr: '0.1' }, /fedprox has no server learning rate.*fedadam/],
    ['a parameter the strategy does not declare', { strategy: 'fedadam', strategyParam: ['mu=1'] }, /fedadam has no parameter mu/],
    ['a value that is not a number', { strategy: 'fedavgm', strategyParam: ['momentum=fast'] }, /momentum must be a number.*"fast"/],
    ['a value out of range', { strategy: 'fedadam', serverLr: '0' }, /serverLearningRate must be a number in \(0, 10\]/],
    ['a parameter without a value', { strategy: 'fedadam', strategyParam: ['beta1'] }, /KEY=VALUE/],
    ['the server learning rate given twice', { strategy: 'fedadam', serverLr: '0.1', strategyParam: ['serverLearningRate=0.2'] }, /once/],
    ['an unknown strategy', { strategy: 'fedsgd' }, /unknown strategy "fedsgd"/],
  ])('refuses %s with STRATEGY_SETTINGS_INVALID or STRATEGY_UNKNOWN', (_what, options, message) => {
    let caught: unknown;
    try { chooseStrategy(options, true); } catch (err) { caught = err; }
    expect(caught).toBeInstanceOf(StrategyError);
    expect((caught as StrategyError).code).toMatch(/^STRATEGY_(SETTINGS_INVALID|UNKNOWN)$/);
    expect((caught as Error).message).toMatch(message);
  });

  it('refuses a robust aggregator on an encrypted run and accepts it on a plaintext one', () => {
    expect(() => chooseStrategy({ strategy: 'krum' }, true)).toThrow(expect.objectContaining({ code: 'STRATEGY_NEEDS_PLAINTEXT' }));
    expect(chooseStrategy({ strategy: 'krum' }, false).resolved.definition.name).toBe('krum');
  });
});

describe('the per-round model digest read from the job view', () => {
  const digest = (c: string) => c.repeat(64);

  it('takes it from the figure, else from the training round, else null', () => {
    const view = {
      figures: [{ round: 1, paramsSha256: digest('a') }, { round: 2 }, { round: 3 }],
      rounds: [{ round: 2, kind: 'train', paramsSha256: digest('b') }, { round: 3, kind: 'evaluate', paramsSha256: digest('c') }],
    };
    expect(roundParamsSha256(view, 1)).toBe(digest('a'));
    expect(roundParamsSha256(view, 2)).toBe(digest('b'));
    expect(roundParamsSha256(view, 3)).toBeNull(); // only a training round's digest counts
  });

  it('ignores a value that is not a SHA-256 hex digest', () => {
    expect(roundParamsSha256({ figures: [{ round: 1, paramsSha256: 'not-a-digest' }], rounds: [] }, 1)).toBeNull();
  });
});
