import { describe, expect, it } from '@jest/globals';
import { AuditReportBuilder, isReleaseAction, type AuditEntry } from '../../src/audit/index.js';

/**
 * Synthetic release-workflow entries, built directly (not through the action table) so the report is
 * checked against the workflow's action names whether or not they are registered yet.
 */
function entry(seq: number, action: string, outcome: AuditEntry['outcome'], actor: string, job: string, round: number): AuditEntry {
  return {
    v: 1, seq, time: new Date(Date.UTC(2026, 0, 1, 8, seq)).toISOString(), actor, role: 'researcher', site: null, action,
    resource: `job:${job}/round:${round}`, outcome, request_id: `r-${seq}`, rule: `policy:v1/${action}`, details: { job, round },
    prev_hash: '0'.repeat(64), hash: String(seq % 10).repeat(64),
  } as unknown as AuditEntry;
}

describe('the audit report\'s model releases section', () => {
  it('lists every release.* step with its job, round, outcome and actor, and nothing else', () => {
    const steps: [string, AuditEntry['outcome'], string][] = [
      ['release.request', 'success', 'alice'], ['release.approve', 'success', 'steward-a'], ['release.decrypt', 'success', 'site:site-a'],
      ['release.countersign', 'success', 'steward-b'], ['release.publish', 'success', 'alice'], ['release.refuse', 'denied', 'steward-c'],
    ];
    const builder = new AuditReportBuilder({ filter: {}, listLimit: 50 });
    let seq = 1;
    for (const [action, outcome, actor] of steps) builder.add(entry(seq++, action, outcome, actor, 'job-7', 3));
    builder.add(entry(seq++, 'api.access', 'success', 'alice', 'job-7', 3));
    builder.add(entry(seq++, 'releases.list', 'success', 'alice', 'job-7', 3)); // a look-alike prefix is not a release step
    builder.add(entry(seq++, 'job.create', 'success', 'alice', 'job-7', 3));

    const report = builder.build({ firstSeq: 1, lastSeq: seq - 1, hashOnly: 0 }, '2026-01-02T00:00:00.000Z');
    expect(report.modelReleases.total).toBe(steps.length);
    expect(report.modelReleases.rows.map((r) => [r.action, r.resource, r.outcome, r.actor])).toEqual(
      steps.map(([action, outcome, actor]) => [action, 'job:job-7/round:3', outcome, actor]));
    // The refusal is also a denial.
    expect(report.denials.rows.map((r) => r.action)).toEqual(['release.refuse']);
  });

  it('recognises the workflow prefix and the published model events', () => {
    expect(['release.request', 'release.publish', 'model.release', 'model.download'].every(isReleaseAction)).toBe(true);
    expect(['releases.list', 'api.access', 'key.release', 'prerelease.x'].some(isReleaseAction)).toBe(false);
  });
});
