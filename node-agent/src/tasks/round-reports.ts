import type { ReportMetricsRequest } from '@medfed/proto';
import type { Logger } from 'pino';
import { privacySpendReport } from '../privacy-chain/charge-dp.js';
import type { CoordinatorClient } from '../transport/client.js';
import { dispositionOf } from '../transport/retry-policy.js';
import { RoundJournal, type RoundMetrics, type RoundRecord } from './round-journal.js';
import { countedRound, submissionIdOf } from './submission.js';

/**
 * The metrics reports of a round, built from its journal only, so that every resend is identical
 * to the first report (the coordinator acknowledges an identical repeat and refuses a different one).
 */
export function evalReport(siteId: string, record: RoundRecord, modelRound: number, m: RoundMetrics): ReportMetricsRequest {
  return {
    siteId, jobId: record.key.job, round: record.key.round, phase: 'eval', modelRound,
    loss: m.loss, accuracy: m.accuracy, numSamples: m.numSamples, privacySpend: undefined,
    // The journaled digest of the evaluated model; a record from before digests resends as it was first sent.
    paramsSha256: m.paramsSha256 ?? '',
  };
}

/** Reported under the round the update counts in (a late update: the later round it was sent to). */
export function trainReport(siteId: string, record: RoundRecord & Required<Pick<RoundRecord, 'upload' | 'training'>>): ReportMetricsRequest {
  const { train } = record.upload;
  const round = countedRound(record);
  return {
    siteId, jobId: record.key.job, round, phase: 'train', modelRound: round,
    loss: train.loss, accuracy: train.accuracy, numSamples: train.numSamples, paramsSha256: '',
    // The round's charge to the site's own ledger, for the coordinator's audit trail (budget figures only).
    privacySpend: record.training.charge ? privacySpendReport(record.training.charge) : undefined,
  };
}

/**
 * Sends the train metrics of journaled rounds whose metrics were never acknowledged: the agent
 * stopped in between, or the upload's acknowledgement was lost though the coordinator stored it.
 * Such a task is not handed out again, so this is their only way out; run once the agent is
 * connected, and after every outage (then with `includeAcknowledged`). A transient or fatal failure is thrown
 * (reports already acknowledged are marked, so a retry goes on where this stopped); a refusal is
 * logged and not retried.
 */
export async function sendPendingTrainReports(stateDir: string, client: Pick<CoordinatorClient, 'reportMetrics' | 'submitUpdate'>, siteId: string, log: Logger,
  options: { includeAcknowledged?: boolean } = {}): Promise<number> {
  const journal = new RoundJournal(stateDir);
  let sent = 0;
  for (const found of await journal.records()) {
    const record = found.upload && !found.accepted && !found.dropped ? await learnAcceptance(journal, found, client, siteId, log) : found;
    // Trained and charged is enough: an upload whose acknowledgement was lost (the coordinator stored it,
    // then crashed or the link dropped) is not handed out again, yet the ledger charge must reach the
    // audit trail; the budget was spent whether or not the update counts.
    if (record.key.kind !== 'train' || !record.upload || !record.training) continue;
    // After an outage, acknowledged reports are sent again too: a coordinator restored from a backup
    // may have lost them (its privacy.spend events must match this site's ledger); an identical
    // repeat is acknowledged, a round it no longer has is refused and logged.
    if (record.trainReported && !options.includeAcknowledged) continue;
    const fields = { job: record.key.job, round: record.key.round };
    try {
      await client.reportMetrics(trainReport(siteId, { ...record, upload: record.upload, training: record.training }));
      sent++;
      if (record.trainReported) log.debug({ ...fields }, 'train metrics re-sent after an outage');
      else log.info({ ...fields, what: 'metrics' }, 'task resumed from journal');
    } catch (err) {
      if (dispositionOf(err) !== 'final') throw err; // retried by the caller (transient) or stops the agent (fatal)
      // A round the coordinator no longer has (an older backup, a finished job's round purged) is no news for a resend.
      const level = record.trainReported ? 'debug' : 'warn';
      log[level]({ ...fields, code: (err as { code?: string }).code }, `the coordinator refused this round's train metrics: ${(err as Error).message}`);
    }
    await journal.write({ ...record, trainReported: true });
  }
  return sent;
}

/**
 * An upload whose acknowledgement was lost (the coordinator stored it, then crashed or the link
 * dropped before it answered) is no longer handed out as a task: the stored bytes are sent once
 * more under the same submission id, and a coordinator that holds them acknowledges them
 * (alreadyAccepted). One that does not is refused (no task nonce, no attestation: nothing new is
 * stored this way) and the record stays as it was.
 */
async function learnAcceptance(journal: RoundJournal, record: RoundRecord, client: Pick<CoordinatorClient, 'submitUpdate'>, siteId: string, log: Logger): Promise<RoundRecord> {
  const read = await journal.read(record.key.job, record.key.round);
  if (read.state !== 'found' || !read.bytes || !read.record.upload) return record;
  const { late } = read.record.upload;
  const fields = { job: record.key.job, round: record.key.round, ...(late ? { countsIn: late.round } : {}) };
  try {
    // A late update is asked after where it was sent: the later round, under its own submission id.
    const receipt = await client.submitUpdate({
      siteId, jobId: record.key.job, round: late?.round ?? record.key.round, submissionId: submissionIdOf(record.key.job, record.key.round, siteId, late),
      numSamples: read.record.upload.train.numSamples, baseModelId: '', attestation: '', ...(late ? { baseRound: record.key.round } : {}),
    }, read.bytes);
    if (!receipt.alreadyAccepted) return record;
    const accepted = { ...read.record, accepted: receipt.sha256 };
    await journal.write(accepted);
    log.info({ ...fields, sha256: receipt.sha256, alreadyAccepted: true }, 'update submitted');
    return accepted;
  } catch (err) {
    if (dispositionOf(err) !== 'final') throw err;
    log.debug({ ...fields, code: (err as { code?: string }).code }, 'the coordinator does not hold this round\'s upload');
    return record;
  }
}
