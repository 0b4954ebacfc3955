import { describe, expect, it } from '@jest/globals';
import { roundPrinter, showText, type Overview } from '../../src/commands/runs.js';
import { renderStatsView } from '../../src/commands/stats.js';
import { RoundProgress, roundLine } from '../../src/federation/progress.js';
import type { JobViewBody } from '../../src/federation/rest-client.js';

/** The lines `medfed runs show`, `runs logs -f`, `stats show`, `stats run --wait` and the demo print about waiting. */
const APPROVAL = { site: 'site-b', reason: 'approval', since: '2026-03-02T09:50:00.000Z', detail: 'JOB_NOT_APPROVED' };
const TRAINING = { site: 'site-a', reason: 'training', since: '2026-03-02T09:40:00.000Z', detail: null };

function overview(over: Partial<Overview['job']> = {}): Overview {
  return {
    job: { id: 'job-1', name: 'sepsis', owner: 'key:r', status: 'running', failure: null, createdAt: '2026-03-02T09:00:00.000Z', currentRound: 3,
      totalRounds: 30, roundsDone: 2, waiting: [APPROVAL, TRAINING], waitingSummary: 'awaiting approval at site-b; awaiting updates from site-a (round 3)',
      rounds: [], ...over },
    figures: [], sites: [], failures: [], privacy: null, models: null,
  };
}

function sink() {
  const lines: string[] = [];
  return { lines, write: (text: string) => { lines.push(...text.split('\n').filter(Boolean)); } };
}

describe('waiting lines of the CLI', () => {
  it('runs show: the summary on its own line while running, none once finished', () => {
    expect(showText(overview()).split('\n')[1]).toBe('waiting: awaiting approval at site-b; awaiting updates from site-a (round 3)');
    expect(showText(overview({ status: 'completed', waiting: [], waitingSummary: '' }))).not.toContain('waiting');
  });

  it('runs logs -f: a new line only when what the run waits for changes (text and JSON)', () => {
    const text = sink();
    const print = roundPrinter('text', text);
    print(overview());
    print(overview());
    print(overview({ waiting: [TRAINING], waitingSummary: 'awaiting updates from site-a (round 3)' }));
    print(overview({ waiting: [TRAINING], waitingSummary: 'awaiting updates from site-a (round 3)' }));
    print(overview({ status: 'completed', waiting: [], waitingSummary: '' }));
    expect(text.lines).toEqual([
      'waiting: awaiting approval at site-b; awaiting updates from site-a (round 3)',
      'waiting: awaiting updates from site-a (round 3)',
    ]);
    const json = sink();
    const printJson = roundPrinter('json', json);
    printJson(overview());
    printJson(overview());
    expect(json.lines.map((l) => JSON.parse(l))).toEqual([{
      event: 'waiting', round: 3, waiting: [APPROVAL, TRAINING], waitingSummary: 'awaiting approval at site-b; awaiting updates from site-a (round 3)',
    }]);
  });

  it('stats show / stats run --wait: the summary under the status until the query is done', () => {
    const view = { id: 'job-s', name: 'ages', status: 'collecting', failure: null, queryDigest: 'd', waiting: [APPROVAL], waitingSummary: 'awaiting approval at site-b' };
    expect(renderStatsView(view).split('\n')).toEqual(['job-s ages: collecting', 'waiting: awaiting approval at site-b']);
    expect(renderStatsView({ ...view, status: 'failed', failure: 'round 0 cannot complete' })).not.toContain('waiting');
  });
});

describe('round lines of the demo and local runs', () => {
  const figure = (round: number, source: 'evaluator' | 'sites') => ({ round, loss: 0.51234, accuracy: 0.7843, numSamples: 200, source });
  function view(over: Partial<JobViewBody>): JobViewBody {
    return {
      id: 'job-1', name: 'demo', status: 'running', failure: null, currentRound: 4, totalRounds: 30, roundsDone: 3, waiting: [], waitingSummary: '',
      rounds: [], sites: [{ id: 'site-a', role: 'trainer', samples: 10, latest: null, failures: [] }], figures: [], metrics: [], models: [], ...over,
    };
  }

  it('labels the measure: the held-out evaluation, or the sample-weighted training-site metrics', () => {
    expect(roundLine(figure(3, 'evaluator'), 30, 'held-out')).toBe('round  3/30  held-out loss 0.5123  accuracy 78.4%');
    expect(roundLine(figure(3, 'sites'), 30, 'training-sites')).toBe('round  3/30  sample-weighted training-site loss 0.5123  accuracy 78.4%');
  });

  it('keeps one measure: with an evaluator site, a round is printed once its held-out figure is there', () => {
    const out = sink();
    const progress = new RoundProgress(Object.assign(out, { isTTY: false }) as unknown as NodeJS.WriteStream);
    const sites = [{ id: 'site-a', role: 'trainer', samples: 10, latest: null, failures: [] }, { id: 'site-d', role: 'evaluator', samples: 40, latest: null, failures: [] }];
    progress.update(view({ sites, figures: [figure(1, 'evaluator'), figure(2, 'sites')], waitingSummary: 'awaiting evaluations from site-d (round 3)' }));
    progress.update(view({ sites, figures: [figure(1, 'evaluator'), figure(2, 'evaluator')], waitingSummary: 'aggregating round 3' }));
    expect(out.lines).toEqual([
      'round  1/30  held-out loss 0.5123  accuracy 78.4%',
      'round  2/30  held-out loss 0.5123  accuracy 78.4%',
    ]);
  });

  it('prints a wait that needs a person at once, a routine wait only once it has lasted stallMs, each once', () => {
    const out = sink();
    let clock = 0;
    const progress = new RoundProgress(Object.assign(out, { isTTY: false }) as unknown as NodeJS.WriteStream, { stallMs: 10_000, now: () => clock });
    const training = { site: 'site-a', reason: 'training', since: null, detail: null };
    const approval = { site: 'site-b', reason: 'approval', since: null, detail: 'JOB_NOT_APPROVED' };
    progress.update(view({ waiting: [training], waitingSummary: 'awaiting updates from site-a (round 3)' }));
    clock = 9_000;
    progress.update(view({ waiting: [training], waitingSummary: 'awaiting updates from site-a (round 3)' }));
    clock = 10_000;
    progress.update(view({ waiting: [training], waitingSummary: 'awaiting updates from site-a (round 3)' }));
    progress.update(view({ waiting: [training], waitingSummary: 'awaiting updates from site-a (round 3)' }));
    clock = 11_000;
    progress.update(view({ waiting: [approval], waitingSummary: 'awaiting approval at site-b' }));
    expect(out.lines).toEqual(['  waiting: awaiting updates from site-a (round 3)', '  waiting: awaiting approval at site-b']);
  });
});
