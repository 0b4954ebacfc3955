import { decodeVector, encodeEncryptedVector, encodeVector, encryptUpdate, MedfedError, parameterCount, sha256Hex } from '@medfed/proto';
import { prepareForJob } from '../data/index.js';
import { evaluate } from '../training/index.js';
import { attestationStatementFor } from '../sandbox/index.js';
import { clipUpdate } from '../privacy-chain/clip-update.js';
import { chargeTrainingRound, privacySpendReport } from '../privacy-chain/charge-dp.js';
import { decryptStandardization, jobKey, reconstructGlobal } from './encrypted-model.js';
import { taskEncryption, type TaskEncryption } from './encryption-context.js';
import { architectureOf, type TaskContext } from './task-context.js';
import { expectedArtifact } from '../verification/expected.js';

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

/** Evaluates the round's incoming model on local data and reports it (the coordinator never needs the model). */
async function evaluateIncoming(ctx: TaskContext, global: Float32Array, data: ReturnType<typeof prepareForJob>) {
  const result = await evaluate(architectureOf(ctx.spec), global, data);
  await ctx.client.reportMetrics({
    siteId: ctx.siteId, jobId: ctx.task.jobId, round: ctx.task.round, phase: 'eval', modelRound: ctx.task.modelRound,
    loss: result.loss, accuracy: result.accuracy, numSamples: result.numSamples, privacySpend: undefined,
  });
  return result;
}

export async function runEvaluateTask(ctx: TaskContext): Promise<void> {
  const { global, data } = await roundInputs(ctx, taskEncryption(ctx.task));
  const r = await evaluateIncoming(ctx, global, data);
  ctx.log.info({ job: ctx.task.jobId, round: ctx.task.round, loss: r.loss, accuracy: r.accuracy }, 'model evaluated');
}

/**
 * Evaluate the incoming model, train locally, then the agent's own privacy chain: clip the delta
 * (update-level L2), and in an encrypted job weight and encrypt it under the job's key before it
 * leaves; finally the training metrics.
 */
export async function runTrainTask(ctx: TaskContext): Promise<void> {
  const enc = taskEncryption(ctx.task);
  const { global, data } = await roundInputs(ctx, enc);
  await evaluateIncoming(ctx, global, data);
  // The site's budget is charged before training; a round that would overspend is refused here.
  const charge = await chargeTrainingRound({
    stateDir: ctx.stateDir, dataset: ctx.privacy.dataset, budget: { epsilon: ctx.privacy.budgetEpsilon, delta: ctx.privacy.budgetDelta },
    spec: ctx.spec, jobId: ctx.task.jobId, round: ctx.task.round,
  });
  if (charge) ctx.log.info({ job: ctx.task.jobId, round: ctx.task.round, ...charge }, 'privacy budget charged for this round (DP-SGD)');
  const settings = {
    ...ctx.spec.training,
    ...(ctx.spec.dp ? { dp: { clipNorm: ctx.spec.dp.clipNorm, noiseMultiplier: ctx.spec.dp.noiseMultiplier, sampleRate: ctx.spec.dp.sampleRate } } : {}),
    // a fresh seed per site and round, so sites never replay one another's shuffles
    seed: seedFor(ctx.spec.training.seed, ctx.task.round, ctx.siteId),
    ...(ctx.spec.strategy.name === 'fedprox' ? { proximalMu: ctx.spec.strategy.mu ?? 0.01 } : {}),
  };
  // The trainer is the untrusted part: it runs in the sandbox and sees only the prepared matrix.
  const run = await ctx.sandbox.train({ arch: architectureOf(ctx.spec), settings, backend: 'wasm', globalWeights: global, data });
  for (const b of run.breaches) ctx.log.warn({ job: ctx.task.jobId, round: ctx.task.round, breach: b }, 'sandbox budget exceeded (not fatal)');
  const trained = run.result;
  const delta = new Float32Array(global.length);
  for (let i = 0; i < delta.length; i++) delta[i] = trained.weights[i]! - global[i]!;
  const clipNorm = ctx.spec.encryption?.clipNorm;
  const { clipped, norm, scaled } = clipNorm ? clipUpdate(delta, clipNorm) : { clipped: delta, norm: NaN, scaled: false };
  let payload: Uint8Array;
  if (enc) {
    const { ctx: he, key } = await jobKey(ctx, enc);
    payload = encodeEncryptedVector(encryptUpdate(he, key, clipped, {
      weight: enc.settings.weight, clip: enc.settings.clipNorm, fracBits: enc.settings.fracBits, maxSites: enc.settings.maxSites,
    }));
  } else {
    payload = encodeVector(clipped);
  }
  // The attestation binds this round's nonce, the trainer and sandbox measurements, the model the
  // round started from and the exact bytes about to leave.
  const attestation = ctx.task.attestationNonce
    ? await ctx.attester.attest(attestationStatementFor(ctx.sandbox, {
      site: ctx.siteId, job: ctx.task.jobId, round: ctx.task.round, nonce: ctx.task.attestationNonce,
      manifestDigest: ctx.client.verifier?.manifestDigestOf(ctx.task.modelId) ?? ctx.task.modelSha256, updateSha256: sha256Hex(payload),
    }))
    : '';
  const receipt = await ctx.client.submitUpdate({
    siteId: ctx.siteId, jobId: ctx.task.jobId, round: ctx.task.round,
    submissionId: `${ctx.task.jobId}:${ctx.task.round}:${ctx.siteId}`,
    numSamples: trained.numSamples, baseModelId: ctx.task.modelId, attestation,
  }, payload);
  await ctx.client.reportMetrics({
    siteId: ctx.siteId, jobId: ctx.task.jobId, round: ctx.task.round, phase: 'train', modelRound: ctx.task.round,
    loss: trained.loss, accuracy: trained.accuracy, numSamples: trained.numSamples,
    // The round's charge to the site's own ledger, for the coordinator's audit trail (budget figures only).
    privacySpend: charge ? privacySpendReport(charge) : undefined,
  });
  ctx.log.info({ job: ctx.task.jobId, round: ctx.task.round, loss: trained.loss, accuracy: trained.accuracy, samples: trained.numSamples,
    updateNorm: norm, clipped: scaled, encrypted: Boolean(enc), sha256: receipt.sha256 }, 'update submitted');
}
