import { encodeVector, sha256Hex } from '@medfed/proto';
import { ROUND_JOURNAL_FORMAT, RoundJournal, sameRoundKey, type RoundKey, type RoundRecord } from './round-journal.js';
import type { TaskEncryption } from './encryption-context.js';
import type { TaskContext } from './task-context.js';

/** A model round at this site and its journal: what a re-run of the same round reuses instead of recomputing. */
export interface RoundRun {
  readonly journal: RoundJournal;
  record: RoundRecord;
  /** The stored update bytes, when the journal holds them (verified against their digest). */
  bytes: Buffer | null;
}

/**
 * Opens the round's journal for this run's key. A journal of the same (job, round) under another key
 * (the input model changed, a new key epoch) is a different computation: it is discarded and the
 * round is trained, and charged, again.
 */
export async function openRound(ctx: TaskContext, kind: RoundKey['kind'], enc: TaskEncryption | null, global: Float32Array): Promise<RoundRun> {
  const { jobId: job, round } = ctx.task;
  const key: RoundKey = { job, round, kind, epoch: enc?.settings.epoch ?? 0, inputSha256: sha256Hex(encodeVector(global)) };
  const journal = new RoundJournal(ctx.stateDir);
  const found = await journal.read(job, round);
  if (found.state === 'found' && sameRoundKey(found.record.key, key)) {
    if (found.damaged) ctx.log.warn({ job, round }, 'the stored update of this round is missing or damaged; training again (the privacy ledger charges the round at most once)');
    return { journal, record: found.record, bytes: found.bytes };
  }
  if (found.state === 'unreadable') {
    ctx.log.warn({ job, round, reason: found.reason }, 'round journal unreadable; starting the round afresh (the privacy ledger charges the round at most once)');
  } else if (found.state === 'found' && (found.record.training || found.record.upload)) {
    ctx.log.warn({ job, round, previous: found.record.key, current: key, chargedAgain: Boolean(ctx.spec.dp) }, ctx.spec.dp
      ? 'round input changed since this site trained it (input model or key epoch); training again and charging the privacy budget again'
      : 'round input changed since this site trained it (input model or key epoch); training again');
  }
  if (found.state !== 'absent') await journal.discard(job, round);
  return { journal, record: { format: ROUND_JOURNAL_FORMAT, key }, bytes: null };
}
