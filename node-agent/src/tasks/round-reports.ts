import type { ReportMetricsRequest } from '@medfed/proto';
import type { Logger } from 'pino';
import { privacySpendReport } from '../privacy-chain/charge-dp.js';
import type { CoordinatorClient } from '../transport/client.js';
import { dispositionOf } from '../transport/retry-policy.js';
import { RoundJournal, type RoundMetrics, type RoundRecord } from './round-journal.js';

/**
 * The metrics reports of a round, built from its journal only, so that every resend is identical
 * to the first report (the coordinator acknowledges an identical repeat and refuses a different one).
 */
export function evalReport(siteId: string, record: RoundRecord, modelRound: number, m: RoundMetrics): ReportMetricsRequest {
  return {
    siteId, jobId: record.key.job, round: record.key.round, phase: 'eval', modelRound,
    loss: m.loss, accuracy: m.accuracy, numSamples: m.numSamples, privacySpend: undefined,
  };
}

export function trainReport(siteId: string, record: RoundRecord & Required<Pick<RoundRecord, 'upload' | 'training'>>): ReportMetricsRequest {
  const { train } = record.upload;
  return {
    siteId, jobId: record.key.job, round: record.key.round, phase: 'train', modelRound: record.key.round,
    loss: train.loss, accuracy: train.accuracy, numSamples: train.numSamples,
    // The round's charge to the site's own ledger, for the coordinator's audit trail (budget figures only).
    privacySpend: record.training.charge ? privacySpendReport(record.training.charge) : undefined,
  };
}

/**
 * Sends the train metrics of rounds whose update the coordinator accepted but whose metrics were
 * never acknowledged (the agent stopped in between). Such a task is not handed out again, so this
 * is their only way out; run once the agent is connected. A transient or fatal failure is thrown
 * (reports already acknowledged are marked, so a retry goes on where this stopped); a refusal is
 * logged and not retried.
 */
export async function sendPendingTrainReports(stateDir: string, client: Pick<CoordinatorClient, 'reportMetrics'>, siteId: string, log: Logger): Promise<number> {
  const journal = new RoundJournal(stateDir);
  let sent = 0;
  for (const record of await journal.records()) {
    if (record.key.kind !== 'train' || !record.accepted || record.trainReported || !record.upload || !record.training) continue;
    const fields = { job: record.key.job, round: record.key.round };
    try {
      await client.reportMetrics(trainReport(siteId, { ...record, upload: record.upload, training: record.training }));
      sent++;
      log.info({ ...fields, what: 'metrics' }, 'task resumed from journal');
    } catch (err) {
      if (dispositionOf(err) !== 'final') throw err; // retried by the caller (transient) or stops the agent (fatal)
      log.warn({ ...fields, code: (err as { code?: string }).code }, `the coordinator refused this round's unsent train metrics: ${(err as Error).message}`);
    }
    await journal.write({ ...record, trainReported: true });
  }
  return sent;
}
