import { describe, expect, it } from '@jest/globals';
import { InvalidArgumentError } from 'commander';
import { StrategyError } from '@medfed/proto';
import { chooseStrategy } from '../../src/simulate/strategy-options.js';
import { checkSemiAsyncFits, parseSlowdown, semiAsyncLine, slowSiteOf } from '../../src/simulate/semi-async.js';
import { lateLine, lateUpdatesOf, runTiming } from '../../src/simulate/run-timing.js';
import { SimulateError } from '../../src/simulate/errors.js';

describe('the semi-asynchronous options of medfed simulate', () => {
  it('--close-after alone sets strategy.closeAfter and resolves maxStaleness to its default', () => {
    const chosen = chooseStrategy({ strategy: 'fedavg', closeAfter: 3 }, true);
    expect(chosen.settings).toEqual({ name: 'fedavg', closeAfter: 3 });
    expect(chosen.resolved.semiAsync).toEqual({ closeAfter: 3, maxStaleness: 4 });
  });

  it('--max-staleness sets strategy.maxStaleness beside a strategy\'s own parameters', () => {
    const chosen = chooseStrategy({ strategy: 'fedadam', serverLr: '0.05', closeAfter: '3', maxStaleness: '2' }, true);
    expect(chosen.settings).toEqual({ name: 'fedadam', serverLearningRate: 0.05, closeAfter: 3, maxStaleness: 2 });
    expect(chosen.resolved.semiAsync).toEqual({ closeAfter: 3, maxStaleness: 2 });
  });

  it('without --close-after the rounds are synchronous', () => {
    expect(chooseStrategy({ strategy: 'fedavg' }, true).resolved.semiAsync).toBeNull();
  });

  it.each([
    ['--max-staleness without --close-after', { strategy: 'fedavg', maxStaleness: 2 }, /--max-staleness.*--close-after/],
    ['closeAfter given twice', { strategy: 'fedavg', closeAfter: 3, strategyParam: ['closeAfter=3'] }, /give closeAfter once/],
    ['a staleness beyond the limit', { strategy: 'fedavg', closeAfter: 3, maxStaleness: 99 }, /maxStaleness must be an integer in \[0, 32\]/],
    ['closeAfter 0', { strategy: 'fedavg', closeAfter: 0 }, /closeAfter must be a positive integer/],
  ])('refuses %s with STRATEGY_SETTINGS_INVALID', (_what, options, message) => {
    let caught: unknown;
    try { chooseStrategy(options, true); } catch (err) { caught = err; }
    expect(caught).toBeInstanceOf(StrategyError);
    expect((caught as StrategyError).code).toBe('STRATEGY_SETTINGS_INVALID');
    expect((caught as Error).message).toMatch(message);
  });

  it('refuses semi-asynchronous rounds with a strategy that needs every update of a round', () => {
    expect(() => chooseStrategy({ strategy: 'krum', closeAfter: 3 }, false)).toThrow(/weighted-mean strategy/);
  });

  it('refuses a closeAfter above the site count, and below the encryption minimum on an encrypted run only', () => {
    expect(() => checkSemiAsyncFits({ closeAfter: 5, maxStaleness: 4 }, 4, true)).toThrow(SimulateError);
    expect(() => checkSemiAsyncFits({ closeAfter: 5, maxStaleness: 4 }, 4, true)).toThrow(/exceeds the 4 training sites/);
    expect(() => checkSemiAsyncFits({ closeAfter: 2, maxStaleness: 4 }, 4, true)).toThrow(/at least 3 updates/);
    expect(() => checkSemiAsyncFits({ closeAfter: 2, maxStaleness: 4 }, 4, false)).not.toThrow();
    expect(() => checkSemiAsyncFits({ closeAfter: 3, maxStaleness: 4 }, 4, true)).not.toThrow();
  });

  it('--slow-site takes a factor from 1 to 100 and slows the last training site', () => {
    expect(parseSlowdown('5')).toBe(5);
    expect(parseSlowdown('1.5')).toBe(1.5);
    for (const bad of ['0.5', '0', '', 'fast', '101', 'Infinity']) expect(() => parseSlowdown(bad)).toThrow(InvalidArgumentError);
    expect(slowSiteOf(['site-a', 'site-b', 'site-c', 'site-d'], 5)).toEqual({ site: 'site-d', factor: 5 });
    expect(slowSiteOf(['site-a'], undefined)).toBeNull();
  });

  it('says in words how rounds close', () => {
    expect(semiAsyncLine(null, 4)).toMatch(/^synchronous rounds: .*all 4/);
    expect(semiAsyncLine({ closeAfter: 3, maxStaleness: 4 }, 4)).toMatch(/^semi-asynchronous rounds: .*first 3 of 4.*staleness 4/);
  });
});

describe('run timing and late updates read from the job view', () => {
  const at = (s: number) => new Date(Date.UTC(2025, 0, 1, 12, 0, s)).toISOString();
  const observed = { jobCreatedAt: Date.parse(at(0)) - 5000, jobFinishedAt: Date.parse(at(200)) };

  it('takes wall-clock from the job\'s creation to the last close, and the pace from the training rounds\' own span', () => {
    const view = {
      createdAt: at(0),
      rounds: [
        { round: 1, kind: 'train', status: 'closed', openedAt: at(10), closedAt: at(40) },
        { round: 2, kind: 'train', status: 'closed', openedAt: at(40), closedAt: at(70) },
        { round: 3, kind: 'train', status: 'closed', openedAt: at(70), closedAt: at(100) },
        { round: 4, kind: 'evaluate', status: 'closed', openedAt: at(100), closedAt: at(110) },
      ],
    };
    const timing = runTiming(view, observed);
    expect(timing.wall_seconds).toBeCloseTo(110, 6);
    expect(timing.rounds_per_minute).toBeCloseTo(3 / 1.5, 6); // 3 rounds from 0:10 to 1:40
    expect(timing.span).toBe('rounds');
  });

  it('falls back to the observed creation and completion where the view has no timestamps', () => {
    const view = { rounds: [{ round: 1, kind: 'train', status: 'closed' }, { round: 2, kind: 'train', status: 'closed' }] };
    const timing = runTiming(view, observed);
    expect(timing.wall_seconds).toBeCloseTo(205, 6);
    expect(timing.rounds_per_minute).toBeCloseTo(2 / (205 / 60), 6);
    expect(timing.span).toBe('job');
  });

  it('reads late updates from rounds[i].late, else from contributions\' baseRound, else none', () => {
    expect(lateUpdatesOf({ round: 3, late: [{ site: 'site-d', staleness: 1 }, { site: 'bad', staleness: 0 }] })).toEqual([{ site: 'site-d', staleness: 1 }]);
    expect(lateUpdatesOf({ round: 3, contributions: [
      { site: 'site-a', baseRound: null }, { site: 'site-b', baseRound: 3 }, { site: 'site-d', baseRound: 1 },
    ] })).toEqual([{ site: 'site-d', staleness: 2 }]);
    expect(lateUpdatesOf({ round: 3, contributions: [{ site: 'site-a' }] })).toEqual([]);
    expect(lateUpdatesOf({})).toEqual([]);
  });

  it('lists late updates per round for the human output', () => {
    expect(lateLine([{ round: 1, late: [] }])).toBe('late updates: none counted');
    expect(lateLine([{ round: 1, late: [] }, { round: 2, late: [{ site: 'site-d', staleness: 1 }] }]))
      .toBe('late updates counted: round 2: site-d (staleness 1)');
  });
});
