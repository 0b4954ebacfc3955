import type { LateUpload, RoundRecord } from './round-journal.js';

/**
 * The submission id of a site's update: one per job, round trained and site; a late update sent to
 * a later round gets its own per round it is sent to (its bytes differ when the weight does), so a
 * resend after a lost acknowledgement is recognised and a new attempt is not taken for one.
 */
export function submissionIdOf(job: string, round: number, siteId: string, late?: Pick<LateUpload, 'round'>): string {
  return late ? `${job}:${round}:${siteId}:late${late.round}` : `${job}:${round}:${siteId}`;
}

/**
 * The round a journaled update counts in: a late update the coordinator acknowledged counts in the
 * round it was sent to; anything else in the round it was trained for (a late update never
 * acknowledged counts nowhere, and its charge is reported under its own round).
 */
export function countedRound(record: RoundRecord): number {
  return record.upload?.late && record.accepted ? record.upload.late.round : record.key.round;
}
