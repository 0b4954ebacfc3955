import { decodeVector, encodeVector, MedfedError } from '@medfed/proto';
import { prepareForJob } from '../data/index.js';
import { evaluate, trainLocal } from '../training/index.js';
import { architectureOf, type TaskContext } from './task-context.js';

async function downloadGlobal(ctx: TaskContext): Promise<Float32Array> {
  const { header, bytes } = await ctx.client.downloadModel(ctx.siteId, ctx.task.jobId, ctx.task.modelId, ctx.task.modelSha256);
  if (header.encrypted) throw new MedfedError('MODEL_ENCRYPTED', 'this agent build cannot decrypt models yet');
  return decodeVector(bytes, 'float32', header.paramCount);
}

/** Evaluates the round's incoming model on local data and reports it (the coordinator never needs the model). */
async function evaluateIncoming(ctx: TaskContext, global: Float32Array, data: ReturnType<typeof prepareForJob>) {
  const result = await evaluate(architectureOf(ctx.spec), global, data);
  await ctx.client.reportMetrics({
    siteId: ctx.siteId, jobId: ctx.task.jobId, round: ctx.task.round, phase: 'eval', modelRound: ctx.task.modelRound,
    loss: result.loss, accuracy: result.accuracy, numSamples: result.numSamples,
  });
  return result;
}

function seedFor(base: number, round: number, siteId: string): number {
  let h = 0;
  for (const ch of siteId) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
  return (base + 1000 * (round + 1) + h) >>> 0;
}

export async function runEvaluateTask(ctx: TaskContext): Promise<void> {
  const data = prepareForJob(ctx.dataset, ctx.spec, ctx.standardization);
  const global = await downloadGlobal(ctx);
  const r = await evaluateIncoming(ctx, global, data);
  ctx.log.info({ job: ctx.task.jobId, round: ctx.task.round, loss: r.loss, accuracy: r.accuracy }, 'model evaluated');
}

/** Evaluate the incoming model, train locally, send the delta (local minus global) and the training metrics. */
export async function runTrainTask(ctx: TaskContext): Promise<void> {
  const data = prepareForJob(ctx.dataset, ctx.spec, ctx.standardization);
  const global = await downloadGlobal(ctx);
  await evaluateIncoming(ctx, global, data);
  const settings = {
    ...ctx.spec.training,
    // a fresh seed per site and round, so sites never replay one another's shuffles
    seed: seedFor(ctx.spec.training.seed, ctx.task.round, ctx.siteId),
    ...(ctx.spec.strategy.name === 'fedprox' ? { proximalMu: ctx.spec.strategy.mu ?? 0.01 } : {}),
  };
  const trained = await trainLocal(architectureOf(ctx.spec), global, data, settings);
  const delta = new Float32Array(global.length);
  for (let i = 0; i < delta.length; i++) delta[i] = trained.weights[i]! - global[i]!;
  const receipt = await ctx.client.submitUpdate({
    siteId: ctx.siteId, jobId: ctx.task.jobId, round: ctx.task.round,
    submissionId: `${ctx.task.jobId}:${ctx.task.round}:${ctx.siteId}`,
    numSamples: trained.numSamples, baseModelId: ctx.task.modelId,
  }, encodeVector(delta));
  await ctx.client.reportMetrics({
    siteId: ctx.siteId, jobId: ctx.task.jobId, round: ctx.task.round, phase: 'train', modelRound: ctx.task.round,
    loss: trained.loss, accuracy: trained.accuracy, numSamples: trained.numSamples,
  });
  ctx.log.info({ job: ctx.task.jobId, round: ctx.task.round, loss: trained.loss, accuracy: trained.accuracy,
    samples: trained.numSamples, sha256: receipt.sha256 }, 'update submitted');
}
