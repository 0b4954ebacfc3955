import { MIN_ENCRYPTED_SITES, type JobSpec } from '@medfed/proto';
import { statsLayout, type StatsQuery } from '@medfed/proto/stats/index';
import { FederationError } from '../federation/errors.js';
import { featureStatsLength } from '../federation/participants.js';

/** Whether a job is a federated statistics job (one round; sites answer a query, one site publishes). */
export function isStatisticsSpec(spec: JobSpec): spec is JobSpec & { kind: 'statistics'; statistics: StatsQuery } {
  return spec.kind === 'statistics' && spec.statistics !== undefined;
}

/** Values a site sends in a job's statistics round: the query's layout, or the feature statistics of a training job. */
export function statsVectorLength(spec: JobSpec): number {
  return isStatisticsSpec(spec) ? statsLayout(spec.statistics).length : featureStatsLength(spec);
}

/**
 * The job spec that carries a statistics query through the round engine: every listed site must
 * answer (a result over a subset would not be the query asked), nothing is trained.
 */
export function statisticsJobSpec(q: StatsQuery, env: 'development' | 'production'): JobSpec {
  if (!q.encryption.enabled && env === 'production') {
    throw new FederationError('JOB_SPEC_INVALID', 'this coordinator runs in production: plaintext statistics queries are refused (encryption.enabled must be true)');
  }
  if (q.encryption.enabled && q.sites.length < MIN_ENCRYPTED_SITES) {
    throw new FederationError('JOB_SPEC_INVALID', `encrypted statistics need at least ${MIN_ENCRYPTED_SITES} sites (with two, each learns the other's answer); this query lists ${q.sites.length}`);
  }
  return {
    kind: 'statistics', statistics: q, name: q.name, features: [], label: '', classes: [],
    model: { hidden: [], activation: 'relu' },
    training: { localEpochs: 1, batchSize: 1, learningRate: 0.01, optimizer: 'sgd', seed: 0 },
    rounds: 1, minSites: q.sites.length, roundDeadlineSeconds: q.deadlineSeconds, strategy: { name: 'fedavg' },
    sites: q.sites, standardization: 'none',
    encryption: { enabled: q.encryption.enabled, paramSet: q.encryption.paramSet, clipNorm: 1, fracBits: 0 },
  };
}

/** The publishing site: deterministic, the first listed site that contributed. */
export function publishingSite(q: StatsQuery, contributors: readonly string[]): string | null {
  return q.sites.find((s) => contributors.includes(s)) ?? null;
}
