import { MedfedError, type SubmitUpdateResponse } from '@medfed/proto';
import { attestationStatementFor } from '../sandbox/index.js';
import type { RoundRecord, TrainingRecord, UploadRecord } from './round-journal.js';
import { trainReport } from './round-reports.js';
import type { RoundRun } from './round-run.js';
import { submissionIdOf } from './submission.js';
import type { TaskContext } from './task-context.js';

/** A round whose update bytes are journaled, with what was charged for them. */
export type JournaledRecord = RoundRecord & { readonly upload: UploadRecord; readonly training: TrainingRecord };

export function journaled(run: RoundRun): JournaledRecord {
  const { upload, training } = run.record;
  if (!upload || !training || !run.bytes) throw new MedfedError('INTERNAL', 'the round journal lost its upload record');
  return { ...run.record, upload, training };
}

/**
 * Sends the journaled update bytes: to the task's round, or (a late update) to the later round its
 * record names, with the round it was trained for as base round. The attestation binds the latest
 * poll's nonce of this task, the trainer and sandbox measurements, the model the round started from
 * and the exact bytes about to leave. `retry`: transient failures are retried in place (a late
 * update's task, its round closed, is never handed out again).
 */
export async function submitJournaled(ctx: TaskContext, run: RoundRun, options: { retry: boolean }): Promise<SubmitUpdateResponse> {
  const { jobId: job, round } = ctx.task;
  const record = journaled(run);
  const { upload } = record;
  const payload = run.bytes!;
  const attestation = ctx.task.attestationNonce
    ? await ctx.attester.attest(attestationStatementFor(ctx.sandbox, {
      site: ctx.siteId, job, round, nonce: ctx.task.attestationNonce,
      manifestDigest: ctx.client.verifier?.manifestDigestOf(ctx.task.modelId) ?? ctx.task.modelSha256, updateSha256: upload.sha256,
    }))
    : '';
  const late = upload.late ? { countsIn: upload.late.round, staleness: upload.late.staleness } : {};
  ctx.log.info({ job, round, ...late, bytes: payload.byteLength }, 'upload started');
  const submit = () => ctx.client.submitUpdate({
    siteId: ctx.siteId, jobId: job, round: upload.late?.round ?? round, submissionId: submissionIdOf(job, round, ctx.siteId, upload.late),
    numSamples: upload.train.numSamples, baseModelId: ctx.task.modelId, attestation, ...(upload.late ? { baseRound: round } : {}),
  }, payload);
  const receipt = await (options.retry && ctx.retryInPlace ? ctx.retryInPlace('late update', submit) : submit());
  ctx.log.info({ job, round, ...late, loss: upload.train.loss, accuracy: upload.train.accuracy, samples: upload.train.numSamples,
    updateNorm: upload.updateNorm ?? NaN, clipped: upload.clipped, encrypted: upload.encrypted, sha256: receipt.sha256,
    alreadyAccepted: receipt.alreadyAccepted }, 'update submitted');
  return receipt;
}

/**
 * Once the update is accepted the task is no longer handed out: the train metrics (under the round
 * the update counts in) are retried in place, and what a crash leaves unsent goes out at the next
 * start (round-reports.ts).
 */
export async function acknowledge(ctx: TaskContext, run: RoundRun, receipt: SubmitUpdateResponse): Promise<void> {
  const accepted = { ...journaled(run), accepted: receipt.sha256 };
  await run.journal.write(accepted);
  run.record = accepted;
  const report = () => ctx.client.reportMetrics(trainReport(ctx.siteId, accepted));
  await (ctx.retryInPlace ? ctx.retryInPlace('train metrics', report) : report());
  run.record = { ...accepted, trainReported: true };
  await run.journal.write(run.record);
}
