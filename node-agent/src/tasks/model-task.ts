import {
  decodeVector, encodeEncryptedVector, encodeVector, encryptUpdate, MedfedError, parameterCount, paramsSha256, resolveStrategy, sha256Hex, type SubmitUpdateResponse,
} from '@medfed/proto';
import { prepareForJob } from '../data/index.js';
import { evaluate } from '../training/index.js';
import { clipUpdate } from '../privacy-chain/clip-update.js';
import { chargeTrainingRound, trainingChargeId, type RoundCharge } from '../privacy-chain/charge-dp.js';
import { evalReport } from './round-reports.js';
import { decryptStandardization, jobKey, reconstructGlobal } from './encrypted-model.js';
import { taskEncryption, type TaskEncryption } from './encryption-context.js';
import { architectureOf, type TaskContext } from './task-context.js';
import { expectedArtifact } from '../verification/expected.js';
import type { RoundMetrics, TrainingRecord, UploadRecord } from './round-journal.js';
import { openRound, type RoundRun } from './round-run.js';
import { isLateRefusal, sendLateUpdate } from './late-update.js';
import { developmentSlowdown } from './training-slowdown.js';
import { TrainedUpdates } from './trained-updates.js';
import { acknowledge, submitJournaled } from './update-upload.js';

function seedFor(base: number, round: number, siteId: string): number {
  let h = 0;
  for (const ch of siteId) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
  return (base + 1000 * (round + 1) + h) >>> 0;
}

/** The round's starting model and data: plaintext from the coordinator, or reconstructed from encrypted sums. */
async function roundInputs(ctx: TaskContext, enc: TaskEncryption | null) {
  const p = parameterCount(ctx.spec.features.length, ctx.spec.model.hidden, ctx.spec.classes.length);
  if (!enc) {
    const { header, bytes } = await ctx.client.downloadModel(ctx.siteId, ctx.task.jobId, ctx.task.modelId, ctx.task.modelSha256, expectedArtifact({ round: ctx.task.modelRound, kind: 'weights' }, ctx.task.deadlineMs));
    if (header.encrypted) throw new MedfedError('TASK_INVALID', 'a plaintext task named an encrypted model');
    return { global: decodeVector(bytes, 'float32', header.paramCount), data: prepareForJob(ctx.dataset, ctx.spec, ctx.standardization) };
  }
  const standardization = ctx.spec.standardization === 'federated' ? await decryptStandardization(ctx, enc, ctx.spec.features.length) : undefined;
  if (ctx.spec.standardization === 'federated' && !standardization) throw new MedfedError('TASK_INVALID', 'the task carries no statistics sum to standardise with');
  return { global: await reconstructGlobal(ctx, enc, p), data: prepareForJob(ctx.dataset, ctx.spec, standardization) };
}

/** The incoming model's evaluation: from the journal, or computed and journaled before it is reported. */
async function evaluation(ctx: TaskContext, run: RoundRun, global: Float32Array, data: ReturnType<typeof prepareForJob>): Promise<RoundMetrics> {
  if (run.record.eval) return run.record.eval;
  const r = await evaluate(architectureOf(ctx.spec), global, data);
  // The digest of the model evaluated: on an encrypted job the coordinator compares the sites' digests.
  const metrics: RoundMetrics = { loss: r.loss, accuracy: r.accuracy, numSamples: r.numSamples, paramsSha256: paramsSha256(global) };
  run.record = { ...run.record, eval: metrics };
  await run.journal.write(run.record);
  return metrics;
}

/** Reports the evaluation (the coordinator never needs the model); a resend is identical, which the coordinator acknowledges. */
async function reportEvaluation(ctx: TaskContext, run: RoundRun, m: RoundMetrics): Promise<void> {
  await ctx.client.reportMetrics(evalReport(ctx.siteId, run.record, ctx.task.modelRound, m));
  // The digest stays in the site's own log, for an auditor comparing sites without the coordinator.
  ctx.log.info({ job: ctx.task.jobId, round: ctx.task.round, modelRound: ctx.task.modelRound, paramsSha256: m.paramsSha256 }, 'evaluation reported');
}

export async function runEvaluateTask(ctx: TaskContext): Promise<void> {
  const enc = taskEncryption(ctx.task);
  const { global, data } = await roundInputs(ctx, enc);
  const run = await openRound(ctx, 'evaluate', enc, global);
  if (run.record.eval) ctx.log.info({ job: ctx.task.jobId, round: ctx.task.round, what: 'metrics' }, 'task resumed from journal');
  const r = await evaluation(ctx, run, global, data);
  await reportEvaluation(ctx, run, r);
  ctx.log.info({ job: ctx.task.jobId, round: ctx.task.round, loss: r.loss, accuracy: r.accuracy }, 'model evaluated');
}

/**
 * The ledger charge and the training seed, journaled in one record right after the charge. The
 * charge is idempotent in the ledger itself (its id names job, round, key epoch and input model), so
 * a crash between the charge and this record cannot charge the round twice: the re-run gets the
 * first charge back. A changed input is a new id, hence a new charge.
 */
async function chargeRound(ctx: TaskContext, run: RoundRun): Promise<TrainingRecord> {
  const { key } = run.record;
  const chargeId = trainingChargeId(key.job, key.round, { epoch: key.epoch, inputSha256: key.inputSha256 });
  const result = await chargeTrainingRound({
    stateDir: ctx.stateDir, dataset: ctx.privacy.dataset, budget: { epsilon: ctx.privacy.budgetEpsilon, delta: ctx.privacy.budgetDelta },
    spec: ctx.spec, jobId: key.job, round: key.round, chargeId,
  });
  let charge: RoundCharge | null = null;
  if (result) {
    const { charged, ...figures } = result;
    charge = figures;
    if (charged) ctx.log.info({ job: key.job, round: key.round, ...charge }, 'privacy budget charged for this round (DP-SGD)');
    else ctx.log.info({ job: key.job, round: key.round, chargeId }, 'privacy budget already charged for this round; not charged again');
  }
  // a fresh seed per site and round, so sites never replay one another's shuffles
  const training: TrainingRecord = { charge, chargeId, seed: seedFor(ctx.spec.training.seed, key.round, ctx.siteId) };
  run.record = { ...run.record, training };
  await run.journal.write(run.record);
  return training;
}

/**
 * Trains, clips and (encrypted jobs) encrypts; the exact bytes are journaled before anything is sent.
 * A re-run after a crash before that point trains again with the journaled seed and charge; the
 * bytes may differ (DP noise and encryption randomness are fresh), which is harmless: none of the
 * earlier bytes ever left the site, so exactly one update is released for the one charge.
 */
async function trainRound(ctx: TaskContext, run: RoundRun, enc: TaskEncryption | null, global: Float32Array, data: ReturnType<typeof prepareForJob>,
  memory: TrainedUpdates): Promise<Buffer> {
  // The site's budget is charged before training; a round that would overspend is refused here.
  const training = run.record.training ?? await chargeRound(ctx, run);
  // The strategy's round configuration for this site (FedProx: the proximal weight of the local objective).
  const { clientConfig } = resolveStrategy(ctx.spec.strategy, { encrypted: Boolean(enc) });
  const settings = {
    ...ctx.spec.training,
    ...(ctx.spec.dp ? { dp: { clipNorm: ctx.spec.dp.clipNorm, noiseMultiplier: ctx.spec.dp.noiseMultiplier, sampleRate: ctx.spec.dp.sampleRate } } : {}),
    seed: training.seed,
    ...(clientConfig.proximalMu !== undefined ? { proximalMu: clientConfig.proximalMu } : {}),
  };
  // The trainer is the untrusted part: it runs in the sandbox and sees only the prepared matrix.
  const began = performance.now();
  const trainRun = await ctx.sandbox.train({ arch: architectureOf(ctx.spec), settings, backend: 'wasm', globalWeights: global, data });
  await developmentSlowdown(ctx, performance.now() - began);
  for (const b of trainRun.breaches) ctx.log.warn({ job: ctx.task.jobId, round: ctx.task.round, breach: b }, 'sandbox budget exceeded (not fatal)');
  const trained = trainRun.result;
  const delta = new Float32Array(global.length);
  for (let i = 0; i < delta.length; i++) delta[i] = trained.weights[i]! - global[i]!;
  const clipNorm = ctx.spec.encryption?.clipNorm;
  const { clipped, norm, scaled } = clipNorm ? clipUpdate(delta, clipNorm) : { clipped: delta, norm: NaN, scaled: false };
  // Kept in memory only: a semi-asynchronous job may want it again, weighted for a later round.
  memory.remember(run.record.key, clipped);
  let payload: Buffer;
  if (enc) {
    const { ctx: he, key } = await jobKey(ctx, enc);
    payload = Buffer.from(encodeEncryptedVector(encryptUpdate(he, key, clipped, {
      weight: enc.settings.weight, clip: enc.settings.clipNorm, fracBits: enc.settings.fracBits, maxSites: enc.settings.maxSites,
    })));
  } else {
    payload = Buffer.from(encodeVector(clipped));
  }
  const upload: UploadRecord = {
    sha256: sha256Hex(payload), byteSize: payload.byteLength,
    train: { loss: trained.loss, accuracy: trained.accuracy, numSamples: trained.numSamples },
    updateNorm: Number.isFinite(norm) ? norm : null, clipped: scaled, encrypted: Boolean(enc),
  };
  const record = { ...run.record, upload };
  await run.journal.writeUpload(record, payload);
  run.record = record;
  run.bytes = payload;
  return payload;
}

/**
 * Evaluate the incoming model, train locally, then the agent's own privacy chain: clip the delta
 * (update-level L2), and in an encrypted job weight and encrypt it under the job's key before it
 * leaves; finally the training metrics. Every stage is journaled: a retry of the same round (same
 * process or after a restart) never retrains or re-charges once the update is stored; it re-sends
 * the stored bytes, with a fresh attestation under the latest task's nonce, and the stored metrics.
 * On a semi-asynchronous job an update that arrives after its round closed goes to the round open
 * then (late-update.ts).
 */
export async function runTrainTask(ctx: TaskContext): Promise<void> {
  const { jobId: job, round } = ctx.task;
  const enc = taskEncryption(ctx.task);
  const { semiAsync } = resolveStrategy(ctx.spec.strategy, { encrypted: Boolean(enc) });
  const memory = ctx.trainedUpdates ?? new TrainedUpdates();
  const { global, data } = await roundInputs(ctx, enc);
  const run = await openRound(ctx, 'train', enc, global);
  const stored = run.record.upload && run.bytes ? run.bytes : null;
  if (stored || run.record.eval) ctx.log.info({ job, round, what: stored ? 'upload' : 'metrics' }, 'task resumed from journal');
  await reportEvaluation(ctx, run, await evaluation(ctx, run, global, data));
  if (run.record.dropped) {
    ctx.log.info({ job, round }, 'the update of this round was dropped as too late; nothing is sent again');
    return;
  }
  if (!stored) await trainRound(ctx, run, enc, global, data, memory);
  // Journaled for a later round already: sent there again (a lost acknowledgement), never to its own closed round.
  const late = run.record.upload?.late;
  if (late && semiAsync) return sendLateUpdate(ctx, run, enc, semiAsync, memory, late.round);
  let receipt: SubmitUpdateResponse;
  try {
    receipt = await submitJournaled(ctx, run, { retry: false });
  } catch (err) {
    if (!isLateRefusal(err, semiAsync)) throw err;
    ctx.log.info({ job, round, openRound: err.openRound ?? null }, 'round closed before the update arrived');
    return sendLateUpdate(ctx, run, enc, semiAsync!, memory, err.openRound);
  }
  memory.forget(run.record.key);
  await acknowledge(ctx, run, receipt);
}
