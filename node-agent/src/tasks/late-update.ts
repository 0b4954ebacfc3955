import { setTimeout as sleep } from 'node:timers/promises';
import { encodeEncryptedVector, encryptUpdate, sha256Hex, stalenessWeight, type SemiAsyncSettings } from '@medfed/proto';
import { CoordinatorError } from '../transport/client.js';
import { dispositionOf } from '../transport/retry-policy.js';
import { jobKey } from './encrypted-model.js';
import type { TaskEncryption } from './encryption-context.js';
import { trainReport } from './round-reports.js';
import type { RoundRun } from './round-run.js';
import type { TaskContext } from './task-context.js';
import type { TrainedUpdates } from './trained-updates.js';
import { acknowledge, journaled, submitJournaled } from './update-upload.js';

/**
 * How often a site whose update was refused without an open round asks again, and how long it
 * waits before each ask (growing): between a round's close and the next round's opening (an
 * encrypted sum being aggregated) no training round is open for a moment.
 */
const OPEN_ROUND_ASKS = 4;
const OPEN_ROUND_ASK_DELAY_MS = 500;

/** ROUND_CLOSED: the round this update was sent to no longer takes updates. */
function roundClosed(err: unknown): err is CoordinatorError {
  return err instanceof CoordinatorError && err.code === 'ROUND_CLOSED';
}

/** Whether a refused upload may still count later: a semi-asynchronous job's round closed before it arrived. */
export function isLateRefusal(err: unknown, semiAsync: SemiAsyncSettings | null): err is CoordinatorError {
  return semiAsync !== null && roundClosed(err);
}

/**
 * The bytes of the late update for `target`: those journaled when they were made for that round
 * already (a resend after a lost acknowledgement); for a plaintext job the clipped delta as it was
 * (the coordinator applies the staleness weight); for an encrypted job the clipped delta encrypted
 * again under the discounted weight, which needs the delta trained in this process. Null: it is not
 * at hand. The bytes are journaled as the round's upload, naming the round they count in, before they leave.
 */
async function latePayload(ctx: TaskContext, run: RoundRun, enc: TaskEncryption | null, memory: TrainedUpdates,
  target: number, staleness: number): Promise<Buffer | null> {
  const record = journaled(run);
  if (record.upload.late?.round === target) return run.bytes;
  let payload = run.bytes!;
  if (enc) {
    const clipped = memory.recall(record.key);
    if (!clipped) return null;
    const { ctx: he, key } = await jobKey(ctx, enc);
    payload = Buffer.from(encodeEncryptedVector(encryptUpdate(he, key, clipped, {
      weight: stalenessWeight(enc.settings.weight, staleness), clip: enc.settings.clipNorm, fracBits: enc.settings.fracBits, maxSites: enc.settings.maxSites,
    })));
  }
  const next = { ...record, upload: { ...record.upload, sha256: sha256Hex(payload), byteSize: payload.byteLength, late: { round: target, staleness } } };
  await run.journal.writeUpload(next, payload);
  run.record = next;
  run.bytes = payload;
  return payload;
}

/**
 * The update of round r was refused ROUND_CLOSED on a semi-asynchronous job (or, resumed, was
 * already journaled for a later round): it is sent to the training round the coordinator names
 * open, r', with base round r, staleness s = r' - r, if s <= maxStaleness. When the round moves
 * again while it is sent, it follows the round the new refusal names; the rounds named only grow and
 * s stays within maxStaleness, so there are at most maxStaleness attempts. Otherwise the update is
 * dropped and the task ends normally: the round it was computed for is over, and the ledger keeps
 * its one charge (it is never charged again here).
 */
export async function sendLateUpdate(ctx: TaskContext, run: RoundRun, enc: TaskEncryption | null, semiAsync: SemiAsyncSettings,
  memory: TrainedUpdates, firstTarget: number | undefined): Promise<void> {
  const round = ctx.task.round;
  let target = firstTarget;
  let previous = round;
  let asked = 0;
  for (;;) {
    if (target === undefined && asked < OPEN_ROUND_ASKS) {
      // Between rounds: the refusal named no open round yet. The same bytes to the same round again
      // are refused again, now naming the round that opened meanwhile (bounded: a job past its last
      // training round never opens one).
      asked++;
      await sleep(OPEN_ROUND_ASK_DELAY_MS * asked, undefined, { signal: ctx.trainingSlowdown?.signal }).catch(() => undefined);
      try {
        const receipt = await submitJournaled(ctx, run, { retry: true });
        memory.forget(run.record.key);
        return await acknowledge(ctx, run, receipt);
      } catch (err) {
        if (!roundClosed(err)) throw err;
        target = err.openRound;
        continue;
      }
    }
    if (target === undefined) return dropLate(ctx, run, memory, null, 'no training round is open');
    const staleness = target - round;
    if (target <= previous) return dropLate(ctx, run, memory, staleness, `the coordinator named round ${target} open, not one after round ${previous}`);
    if (staleness > semiAsync.maxStaleness) {
      return dropLate(ctx, run, memory, staleness, `staleness ${staleness} exceeds the job's maxStaleness ${semiAsync.maxStaleness}`);
    }
    if (!(await latePayload(ctx, run, enc, memory, target, staleness))) {
      return dropLate(ctx, run, memory, staleness, 'the trained update is no longer in memory (the agent restarted since training)');
    }
    try {
      const receipt = await submitJournaled(ctx, run, { retry: true });
      memory.forget(run.record.key);
      return await acknowledge(ctx, run, receipt);
    } catch (err) {
      // The coordinator's own count of rounds has the last word: too stale there is dropped here too.
      if (err instanceof CoordinatorError && err.code === 'UPDATE_TOO_STALE') return dropLate(ctx, run, memory, staleness, `the coordinator refused it as too stale: ${err.message}`);
      if (!roundClosed(err)) throw err;
      previous = target;
      target = err.openRound;
    }
  }
}

/**
 * A late update that counts nowhere: logged, journaled as dropped (never sent again), and its
 * train metrics reported under the round it was trained for, so that its charge reaches the
 * coordinator's audit trail as every charge does. A refusal of that report does not fail the task.
 */
async function dropLate(ctx: TaskContext, run: RoundRun, memory: TrainedUpdates, staleness: number | null, reason: string): Promise<void> {
  const { jobId: job, round } = ctx.task;
  memory.forget(run.record.key);
  ctx.log.warn({ job, round, staleness, reason }, 'late update dropped');
  const dropped = { ...journaled(run), dropped: true };
  run.record = dropped;
  await run.journal.write(dropped);
  const report = () => ctx.client.reportMetrics(trainReport(ctx.siteId, dropped));
  try {
    await (ctx.retryInPlace ? ctx.retryInPlace('train metrics', report) : report());
  } catch (err) {
    const disposition = dispositionOf(err);
    if (disposition === 'fatal') throw err;
    ctx.log.info({ job, round, code: (err as { code?: string }).code }, `train metrics of the dropped update not reported: ${(err as Error).message}`);
    // A transient failure leaves them to the next start (round-reports.ts); a refusal is not news there either.
    if (disposition === 'transient') return;
  }
  run.record = { ...dropped, trainReported: true };
  await run.journal.write(run.record);
}
