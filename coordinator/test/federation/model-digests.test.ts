import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { MetricsReport } from '../../src/federation/engine.js';
import { describeJob } from '../../src/federation/job-view.js';
import { BACKENDS } from '../support/databases.js';
import { enrollSites, jobSpec, testEngine, type TestEngine } from '../support/engine.js';

const SITES = ['site-a', 'site-b', 'site-c'];
const X = 'a1'.repeat(32);
const Y = 'b2'.repeat(32);

const evalReport = (jobId: string, siteId: string, paramsSha256: string): MetricsReport => ({
  siteId, jobId, round: 1, phase: 'eval', modelRound: 0, loss: 0.69, accuracy: 0.5, numSamples: 20, paramsSha256,
});

/** Sites report the digest of the model they measured; two that differ for one round stop the job. */
describe.each(BACKENDS)('digest agreement on %s', (backend) => {
  let e: TestEngine;
  beforeAll(async () => {
    e = await testEngine(backend);
    await enrollSites(e.engine, SITES);
  });
  afterAll(async () => { await e.close(); });
  afterEach(async () => {
    for (const j of await e.engine.listJobs()) if (j.status === 'running') await e.engine.stopJob(j.id, 'test finished');
  });

  const auditReasons = async (action: string, jobId: string) => (await e.t.db.query<{ event: string }>(
    'SELECT event FROM audit_events WHERE action = $1 AND job = $2 ORDER BY seq', [action, jobId])).rows
    .map((r) => (JSON.parse(r.event) as { details: { reason?: string } }).details.reason);

  it('encrypted job: the first report is the reference; a different one fails the job with ROUND_MODEL_DIVERGED, naming both', async () => {
    const job = await e.engine.createJob(jobSpec({
      sites: SITES, minSites: 3, strategy: { name: 'fedavgm' },
      encryption: { enabled: true, paramSet: 'bfv-n4096-q60-t48-2x23', clipNorm: 5, fracBits: 0 },
    }), 'tester');
    await e.engine.reportMetrics(evalReport(job.id, 'site-a', X));
    await e.engine.reportMetrics(evalReport(job.id, 'site-b', X));
    // The same report again (a retried task) is acknowledged.
    await e.engine.reportMetrics(evalReport(job.id, 'site-b', X));
    expect((await e.engine.job(job.id)).status).toBe('running');

    await expect(e.engine.reportMetrics(evalReport(job.id, 'site-c', Y))).rejects.toMatchObject({ code: 'ROUND_MODEL_DIVERGED' });
    const failed = await e.engine.job(job.id);
    expect(failed.status).toBe('failed');
    expect(failed.failure).toBe(`ROUND_MODEL_DIVERGED: the sites' global models of round 0 diverged: site site-a reported ${X}, site site-c reported ${Y}`);
    expect((await e.engine.rounds(job.id)).find((r) => r.round === 1)).toMatchObject({ status: 'failed', failure: failed.failure });
    expect(await auditReasons('job.fail', job.id)).toEqual(['ROUND_MODEL_DIVERGED']);
    expect(await auditReasons('round.fail', job.id)).toEqual(['ROUND_MODEL_DIVERGED']);
    // The diverging report is kept, with its digest, next to the others.
    const view = await describeJob(e.engine, e.t.db, job.id);
    expect(view.metrics.map((m) => [m.site, m.paramsSha256])).toEqual([['site-a', X], ['site-b', X], ['site-c', Y]]);
    // Sent again after the job failed: refused the same way, and the job failed once.
    await expect(e.engine.reportMetrics(evalReport(job.id, 'site-c', Y))).rejects.toMatchObject({ code: 'ROUND_MODEL_DIVERGED' });
    expect(await auditReasons('job.fail', job.id)).toEqual(['ROUND_MODEL_DIVERGED']);
  });

  it('encrypted job: an eval report without a digest is METRICS_INVALID, and so is one that is not a SHA-256', async () => {
    const job = await e.engine.createJob(jobSpec({
      sites: SITES, minSites: 3, encryption: { enabled: true, paramSet: 'bfv-n4096-q60-t48-2x23', clipNorm: 5, fracBits: 0 },
    }), 'tester');
    await expect(e.engine.reportMetrics(evalReport(job.id, 'site-a', ''))).rejects.toMatchObject({ code: 'METRICS_INVALID', message: expect.stringContaining('params_sha256') });
    await expect(e.engine.reportMetrics(evalReport(job.id, 'site-a', 'ABC'))).rejects.toMatchObject({ code: 'METRICS_INVALID' });
    // A train report carries none and needs none.
    await e.engine.reportMetrics({ ...evalReport(job.id, 'site-a', ''), phase: 'train', modelRound: 1 });
    expect((await e.engine.job(job.id)).status).toBe('running');
  });

  it('plaintext job: the stored model is the reference; a report without a digest is tolerated, a different digest fails the job', async () => {
    const job = await e.engine.createJob(jobSpec({ sites: SITES }), 'tester');
    const initial = (await describeJob(e.engine, e.t.db, job.id)).models.find((m) => m.round === 0)!.sha256;
    await e.engine.reportMetrics(evalReport(job.id, 'site-a', ''));
    await e.engine.reportMetrics(evalReport(job.id, 'site-b', initial));
    expect((await e.engine.job(job.id)).status).toBe('running');

    await expect(e.engine.reportMetrics(evalReport(job.id, 'site-c', X))).rejects.toMatchObject({ code: 'ROUND_MODEL_DIVERGED' });
    const failed = await e.engine.job(job.id);
    expect(failed.status).toBe('failed');
    expect(failed.failure).toBe(`ROUND_MODEL_DIVERGED: the sites' global models of round 0 diverged: the coordinator stored ${initial}, site site-c reported ${X}`);
  });
});
