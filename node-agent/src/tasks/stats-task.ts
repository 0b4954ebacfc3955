import { encodeVector } from '@medfed/proto';
import { localFeatureStatistics } from '../data/index.js';
import type { TaskContext } from './task-context.js';

/**
 * Federated standardisation: only [n, sum, sum of squares] per feature leave the site; the
 * coordinator adds them and every site derives the same mean and standard deviation.
 */
export async function runStatsTask(ctx: TaskContext): Promise<void> {
  const stats = localFeatureStatistics(ctx.dataset, ctx.spec.features);
  const payload = encodeVector(stats);
  const receipt = await ctx.client.submitUpdate({
    siteId: ctx.siteId, jobId: ctx.task.jobId, round: ctx.task.round,
    submissionId: `${ctx.task.jobId}:${ctx.task.round}:${ctx.siteId}`,
    numSamples: Math.max(1, Math.round(stats[0] ?? 0)), baseModelId: '',
  }, payload);
  ctx.log.info({ job: ctx.task.jobId, round: ctx.task.round, sha256: receipt.sha256 }, 'feature statistics submitted');
}
