import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditReportBuilder, AUDIT_ACTIONS } from '@medfed/proto/audit/index';
import { freshDatabase, type TestDb } from '../support/databases.js';
import { appendAuditEvent, auditRowPages, privacySpendEvent, privacyTotals, rowToEntry, type PrivacySpendReport } from '../../src/audit/index.js';

const spend = (over: Partial<PrivacySpendReport> = {}): PrivacySpendReport => ({
  epsilon: 0.4, delta: 1e-5, dataset: 'icu-cohort-2024', mechanism: 'gaussian', epsilonTotal: 0.4, epsilonBudget: 3, epsilonRemaining: 2.6, ...over,
});

function eventOf(site: string, job: string, round: number, s: PrivacySpendReport) {
  const r = privacySpendEvent(site, job, round, s);
  if ('problem' in r) throw new Error(r.problem);
  return r.event;
}

describe('privacy spends reported by the sites', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await freshDatabase('pglite');
    // site-a: two rounds of job-1; site-b: one round of job-1 and one of job-2.
    await appendAuditEvent(t.db, eventOf('site-a', 'job-1', 1, spend({ epsilon: 0.4, epsilonTotal: 0.4, epsilonRemaining: 2.6 })));
    await appendAuditEvent(t.db, eventOf('site-b', 'job-1', 1, spend({ epsilon: 0.25, epsilonTotal: 1.25, epsilonBudget: 2, epsilonRemaining: 0.75, dataset: 'wards' })));
    await appendAuditEvent(t.db, eventOf('site-a', 'job-1', 2, spend({ epsilon: 0.3, epsilonTotal: 0.7, epsilonRemaining: 2.3 })));
    await appendAuditEvent(t.db, eventOf('site-b', 'job-2', 1, spend({ epsilon: 0.5, epsilonTotal: 1.75, epsilonBudget: 2, epsilonRemaining: 0.25, dataset: 'wards' })));
  }, 180_000);
  afterAll(async () => { await t.drop(); });

  it('totals each job per site for the dashboard, with the ledger as of the latest charge', async () => {
    expect(await privacyTotals(t.db, 'job-1')).toEqual([
      { site: 'site-a', dataset: 'icu-cohort-2024', spends: 2, epsilon: 0.7, delta: 2e-5, epsilonTotal: 0.7, epsilonBudget: 3, epsilonRemaining: 2.3 },
      { site: 'site-b', dataset: 'wards', spends: 1, epsilon: 0.25, delta: 1e-5, epsilonTotal: 1.25, epsilonBudget: 2, epsilonRemaining: 0.75 },
    ]);
    expect((await privacyTotals(t.db, 'job-2')).map((r) => [r.site, r.epsilon])).toEqual([['site-b', 0.5]]);
    expect(await privacyTotals(t.db, 'job-3')).toEqual([]);
  });

  it('shows the same totals in the export report\'s "privacy budget spent" section', async () => {
    const builder = new AuditReportBuilder({ filter: {} });
    for await (const page of auditRowPages(t.db, { fromSeq: 1 })) for (const row of page) builder.add(rowToEntry(row)!);
    const report = builder.build({ firstSeq: 1, lastSeq: 4, hashOnly: 0 }, new Date().toISOString());
    expect(report.privacy.rows.map((r) => [r.job, r.site, r.spends, r.epsilon, r.epsilonRemaining])).toEqual([
      ['job-1', 'site-a', 2, 0.7, 2.3], ['job-1', 'site-b', 1, 0.25, 0.75], ['job-2', 'site-b', 1, 0.5, 0.25],
    ]);
  });

  it('keeps budget figures and the dataset identifier only, and refuses anything else', () => {
    const e = eventOf('site-a', 'job-1', 1, spend());
    expect(Object.keys(e.details!).every((k) => (AUDIT_ACTIONS['privacy.spend'].details as readonly string[]).includes(k))).toBe(true);
    const problems = [
      spend({ dataset: 'Jane Doe, MRN 12345' }), spend({ epsilon: -1 }), spend({ delta: 1 }), spend({ epsilonTotal: Number.NaN }),
      spend({ mechanism: 'exponential' }), spend({ epsilonRemaining: Number.POSITIVE_INFINITY }),
    ].map((s) => privacySpendEvent('site-a', 'job-1', 1, s));
    expect(problems.map((p) => ('problem' in p ? p.problem.split(' ')[0] : 'ACCEPTED'))).toEqual([
      'privacy_spend.dataset', 'privacy_spend.epsilon', 'privacy_spend.delta', 'privacy_spend.epsilon_total', 'privacy_spend.mechanism', 'privacy_spend.epsilon_remaining',
    ]);
  });
});
