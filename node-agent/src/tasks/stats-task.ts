import { encodeEncryptedVector, encodeVector, encryptVectorExact, LIMB_MAX_ABS, MAX_LIMB_SITES, toLimbs } from '@medfed/proto';
import { localFeatureStatistics } from '../data/index.js';
import { taskEncryption } from './encryption-context.js';
import { jobKey } from './encrypted-model.js';
import type { TaskContext } from './task-context.js';

/**
 * Federated standardisation: only [n, sum, sum of squares] per feature leave the site; the
 * coordinator adds them and every site derives the same mean and standard deviation. In an
 * encrypted job the sums travel as exact multi-limb integers under the job's key.
 */
export async function runStatsTask(ctx: TaskContext): Promise<void> {
  const stats = localFeatureStatistics(ctx.dataset, ctx.spec.features);
  const enc = taskEncryption(ctx.task);
  let payload: Uint8Array;
  if (enc) {
    const { ctx: he, key } = await jobKey(ctx, enc);
    const vector = encryptVectorExact(he, key, toLimbs(stats), { maxAbs: LIMB_MAX_ABS, maxSites: Math.min(enc.settings.maxSites, MAX_LIMB_SITES) });
    payload = encodeEncryptedVector(vector);
  } else {
    payload = encodeVector(stats);
  }
  const receipt = await ctx.client.submitUpdate({
    siteId: ctx.siteId, jobId: ctx.task.jobId, round: ctx.task.round,
    submissionId: `${ctx.task.jobId}:${ctx.task.round}:${ctx.siteId}`,
    numSamples: Math.max(1, Math.round(stats[0] ?? 0)), baseModelId: '', attestation: '',
  }, payload);
  ctx.log.info({ job: ctx.task.jobId, round: ctx.task.round, sha256: receipt.sha256, encrypted: Boolean(enc) }, 'feature statistics submitted');
}
