import { join } from 'node:path';
import {
  decodeVector, decryptExact, encodeEncryptedVector, encodeVector, encryptVectorExact, LIMB_MAX_ABS, MAX_LIMB_SITES, MedfedError,
} from '@medfed/proto';
import {
  bigintsToLimbs, computeStatsResult, limbsToBigints, parseStatsQuery, queryDigest, signStatsResult, statsLayout, type StatsQuery,
} from '@medfed/proto/stats/index';
import { loadOrCreateAttestationKey } from '@medfed/proto/attestation/index';
import { checkQuery, MaskingError, maskRecords } from '../masking/index.js';
import { PrivacyLedger } from '../privacy/ledger/index.js';
import { addStatsNoise } from '../statistics/add-noise.js';
import { localStatsVector } from '../statistics/local-vector.js';
import { loadStatsInputs, type StatsSiteInputs } from '../statistics/site-inputs.js';
import { jobKey, keyFor } from './encrypted-model.js';
import { taskEncryption, type ChainLink } from './encryption-context.js';
import type { TaskContext } from './task-context.js';
import { expectedArtifact } from '../verification/expected.js';

/** A statistics task needs the site's raw records and masking files on top of the usual context. */
export interface StatsQueryContext extends TaskContext {
  readonly statsInputs: StatsSiteInputs;
}

/** The role whose view a statistics answer is computed from: aggregates go to researchers. */
const ROLE = 'researcher';

function queryOf(ctx: TaskContext): StatsQuery {
  let q: StatsQuery;
  try {
    q = parseStatsQuery(ctx.spec.statistics);
  } catch (err) {
    throw new MedfedError('TASK_INVALID', `task for job ${ctx.task.jobId} carries an invalid statistics query: ${(err as Error).message}`);
  }
  if (!q.sites.includes(ctx.siteId)) throw new MedfedError('TASK_INVALID', `site ${ctx.siteId} is not listed by statistics job ${ctx.task.jobId}`);
  return q;
}

/**
 * Answers a statistics query: refuse before touching the budget (fields the researcher role may not
 * see, identifiers, exact quasi-identifier combinations, a minimum cell size below the site's),
 * charge the DP budget before computing, compute the per-group integer sums over the masked
 * records, add discrete noise, encrypt on the exact limb path, submit.
 */
export async function runStatsQueryTask(ctx: StatsQueryContext): Promise<void> {
  const q = queryOf(ctx);
  const layout = statsLayout(q);
  const { records, schema, policy } = await loadStatsInputs(ctx.siteId, ctx.statsInputs);
  if (q.minCellSize < policy.minCellSize) {
    throw new MaskingError('MASK_SMALL_CELL', `the query's minCellSize ${q.minCellSize} is below this site's minimum of ${policy.minCellSize}`, { minCellSize: policy.minCellSize });
  }
  const used = [...q.fields.map((f) => f.name), ...q.groupBy.map((g) => g.field)];
  const plan = checkQuery({ select: used, groupBy: q.groupBy.map((g) => g.field) }, schema, policy, { role: ROLE });
  for (const f of q.fields) {
    const p = plan.fields.find((x) => x.field.name === f.name)!;
    if (p.transform !== 'full') {
      throw new MaskingError('MASK_FIELD_NOT_VISIBLE', `field "${f.name}" is released to researchers only as ${p.transform}; only exact values can be aggregated`, { field: f.name });
    }
  }
  if (q.dp) {
    const ledger = new PrivacyLedger({ stateDir: ctx.stateDir, dataset: ctx.privacy.dataset });
    if (!(await ledger.read()).budget) await ledger.setBudget({ epsilon: ctx.privacy.budgetEpsilon, delta: ctx.privacy.budgetDelta });
    await ledger.spend({ purpose: `statistics: ${q.name}`.slice(0, 500), job: ctx.task.jobId, epsilon: q.dp.epsilon, delta: q.dp.delta ?? 0 });
  }
  // Unused fields are asked redacted, so nothing but the query's fields is transformed or shown.
  const requested = Object.fromEntries(schema.fields.filter((f) => !used.includes(f.name)).map((f) => [f.name, 'redact' as const]));
  const masked = await maskRecords(records, schema, policy, { role: ROLE, optOut: new Set(), requested, noise: { mode: 'preview' } });
  const vector = localStatsVector(q, layout, masked.records);
  addStatsNoise(q, layout, vector);
  const enc = taskEncryption(ctx.task);
  let payload: Uint8Array;
  if (enc) {
    const { ctx: he, key } = await jobKey(ctx, enc);
    payload = encodeEncryptedVector(encryptVectorExact(he, key, bigintsToLimbs(vector), {
      maxAbs: LIMB_MAX_ABS, maxSites: Math.min(enc.settings.maxSites, MAX_LIMB_SITES),
    }));
  } else {
    // Development plaintext travels as float64: exact only up to 2^53 (the encrypted limb path has no such limit).
    if (vector.some((v) => v > 2n ** 53n || v < -(2n ** 53n))) {
      throw new MedfedError('HE_VALUE_OUT_OF_RANGE', 'a sum exceeds 2^53, beyond what a plaintext statistics job carries exactly; use an encrypted query');
    }
    payload = encodeVector(Float64Array.from(vector, (v) => Number(v)));
  }
  // num_samples is 1: the coordinator learns nothing of the site's size from the header.
  const receipt = await ctx.client.submitUpdate({
    siteId: ctx.siteId, jobId: ctx.task.jobId, round: ctx.task.round, submissionId: `${ctx.task.jobId}:${ctx.task.round}:${ctx.siteId}`,
    numSamples: 1, baseModelId: '', attestation: '',
  }, payload);
  ctx.log.info({ job: ctx.task.jobId, sha256: receipt.sha256, encrypted: Boolean(enc), dp: Boolean(q.dp) }, 'statistics answer submitted');
}

/**
 * The publishing site: decrypts the summed answers, applies small-cell suppression with the larger
 * of the query's and its own minimum cell size, computes means, variances and quantiles, signs the
 * result with its node key and uploads it.
 */
export async function runStatsPublishTask(ctx: StatsQueryContext): Promise<void> {
  const q = queryOf(ctx);
  const layout = statsLayout(q);
  const enc = taskEncryption(ctx.task);
  // Encrypted: the task's validated summed-vector link; plaintext (development): the same JSON, unvalidated by the HE layer.
  const link = enc?.statsSum ?? (ctx.task.statsSumJson ? JSON.parse(ctx.task.statsSumJson) as ChainLink : null);
  if (!link || link.kind !== 'stats-sum') throw new MedfedError('TASK_INVALID', `publish task for job ${ctx.task.jobId} names no summed vector`);
  const { bytes } = await ctx.client.downloadModel(ctx.siteId, ctx.task.jobId, link.modelId, link.sha256, expectedArtifact(link, ctx.task.deadlineMs));
  let sums: bigint[];
  if (enc) {
    const { ctx: he, key } = await keyFor(ctx, enc, link);
    sums = limbsToBigints(decryptExact(he, key, bytes));
  } else {
    sums = Array.from(decodeVector(bytes, 'float64', layout.length), (v) => BigInt(Math.round(v)));
  }
  const { policy } = await loadStatsInputs(ctx.siteId, ctx.statsInputs);
  const result = computeStatsResult(q, layout, sums, {
    job: ctx.task.jobId, queryDigest: queryDigest(q), publishedBy: ctx.siteId, contributors: link.contributors ?? [],
    sumSha256: link.sha256, minCellSize: Math.max(q.minCellSize, policy.minCellSize), now: new Date(),
  });
  const { key } = await loadOrCreateAttestationKey(join(ctx.stateDir, 'attestation.jwk'));
  await ctx.client.publishStatsResult(ctx.siteId, ctx.task.jobId, await signStatsResult(result, key));
  ctx.log.info({ job: ctx.task.jobId, suppressed: result.suppressedCells }, 'statistics result published');
}
