import { describe, expect, it } from '@jest/globals';
import { resolveStrategy, semiAsyncOf, stalenessFactor, stalenessWeight } from '../../src/strategy/index.js';

const codeOf = (fn: () => unknown) => { try { fn(); } catch (e) { return (e as { code?: string }).code; } return 'none'; };

describe('semi-asynchronous round settings', () => {
  it('absent closeAfter: synchronous rounds', () => {
    expect(semiAsyncOf({ name: 'fedavg' })).toBeNull();
    expect(resolveStrategy({ name: 'fedadam' }, { encrypted: true }).semiAsync).toBeNull();
  });
  it('closeAfter with the default or an explicit maxStaleness, beside a strategy\'s own parameters', () => {
    expect(resolveStrategy({ name: 'fedadam', serverLearningRate: 0.05, closeAfter: 3 }, { encrypted: true }).semiAsync).toEqual({ closeAfter: 3, maxStaleness: 4 });
    expect(resolveStrategy({ name: 'fedavg', closeAfter: 3, maxStaleness: 0 }, { encrypted: true }).semiAsync).toEqual({ closeAfter: 3, maxStaleness: 0 });
  });
  it('refuses what it cannot use', () => {
    expect(codeOf(() => semiAsyncOf({ maxStaleness: 2 }))).toBe('STRATEGY_SETTINGS_INVALID');
    expect(codeOf(() => semiAsyncOf({ closeAfter: 2.5 }))).toBe('STRATEGY_SETTINGS_INVALID');
    expect(codeOf(() => semiAsyncOf({ closeAfter: 0 }))).toBe('STRATEGY_SETTINGS_INVALID');
    expect(codeOf(() => semiAsyncOf({ closeAfter: 3, maxStaleness: 33 }))).toBe('STRATEGY_SETTINGS_INVALID');
    expect(codeOf(() => resolveStrategy({ name: 'fedmedian', closeAfter: 3 }, { encrypted: false }))).toBe('STRATEGY_SETTINGS_INVALID');
  });
  it('staleness discounts a late update by 1/sqrt(1 + s); a fresh one keeps its exact weight', () => {
    expect(stalenessFactor(0)).toBe(1);
    expect(stalenessFactor(3)).toBe(0.5);
    expect(stalenessWeight(0.3, 0)).toBe(0.3);
    expect(stalenessWeight(0.25, 3)).toBe(0.125);
    expect(() => stalenessFactor(-1)).toThrow(RangeError);
  });
});
