import { describe, expect, it } from '@jest/globals';
import type { JobSpec } from '@medfed/proto';
import { parseStatsQuery } from '@medfed/proto/stats/index';
import { statisticsJobSpec } from '@medfed/coordinator/statistics/spec';
import { describeSpec } from '../../src/commands/agent-approve.js';

/** The one line a steward reads before approving (`medfed agent approve`, `medfed agent approvals`). */
describe('describeSpec', () => {
  it('shows a statistics query\'s fields, that it has no label, and the query itself', () => {
    // The spec exactly as the coordinator announces a statistics job to the sites.
    const spec = statisticsJobSpec(parseStatsQuery({
      name: 'length of stay by ward', sites: ['site-a', 'site-b', 'site-c'],
      fields: [{ name: 'age', lower: 0, upper: 120 }, { name: 'los_days', lower: 0, upper: 365, bins: 20 }],
      groupBy: [{ field: 'ward', categories: ['icu', 'surgery'] }, { field: 'sex', categories: ['F', 'M'] }],
      statistics: ['count', 'mean', 'quantiles'], quantiles: [0.5, 0.9], minCellSize: 15,
      dp: { epsilon: 0.5, mechanism: 'laplace' },
    }), 'development');
    expect(describeSpec(spec)).toBe('  job "length of stay by ward": statistics query; '
      + 'features age [0, 120], los_days [0, 365], ward (grouped by), sex (grouped by); label none (a statistics query trains no model); '
      + 'query count, mean, quantiles at 0.5, 0.9 by ward (icu, surgery) x sex (F, M), cells under 15 suppressed, DP laplace epsilon 0.5, encrypted; '
      + 'sites site-a, site-b, site-c');
  });

  it('shows a count-only query over all rows', () => {
    const spec = statisticsJobSpec(parseStatsQuery({ name: 'cohort size', sites: ['site-a'], encryption: { enabled: false } }), 'development');
    expect(describeSpec(spec)).toBe('  job "cohort size": statistics query; features none (counts only); label none (a statistics query trains no model); '
      + 'query count over all rows, cells under 11 suppressed, no DP noise, plaintext; sites site-a');
  });

  it('shows a training job\'s features, label and model', () => {
    const spec: JobSpec = {
      name: 'sepsis', features: ['lactate', 'heart_rate'], label: 'sepsis', classes: ['no', 'yes'], model: { hidden: [16], activation: 'relu' },
      training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 1 }, rounds: 30, minSites: 3,
      roundDeadlineSeconds: 600, strategy: { name: 'fedavg' }, sites: ['site-a', 'site-b', 'site-c'], evaluators: ['site-d'], standardization: 'federated',
      encryption: { enabled: true, paramSet: 'bfv-n4096-q60-t48-2x23', clipNorm: 1, fracBits: 16 },
    };
    expect(describeSpec(spec)).toBe('  job "sepsis": training; features lactate, heart_rate; label sepsis (classes no, yes); '
      + 'model hidden [16] relu, 30 rounds, encrypted; sites site-a, site-b, site-c; evaluators site-d');
  });
});
