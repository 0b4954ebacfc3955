import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { encodeVector, parameterCount, TaskKind, type JobSpec } from '@medfed/proto';
import { loadCoordinatorConfig, startCoordinator } from '@medfed/coordinator';
import { CoordinatorClient } from '@medfed/node-agent/transport/client';
import { freshDatabase } from '../../coordinator/test/support/databases.js';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';
import { codeOf } from '../support/error-code.js';
import { eventually } from '../support/eventually.js';

const spec = (sites: string[], overrides: Partial<JobSpec> = {}): JobSpec => ({
  name: 'crash-safety', features: ['f1', 'f2', 'f3'], label: 'y', classes: ['no', 'yes'],
  model: { hidden: [], activation: 'relu' },
  training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 7 },
  rounds: 2, minSites: 2, roundDeadlineSeconds: 30, strategy: { name: 'fedavg' }, sites, standardization: 'none',
  ...overrides,
});

const P = parameterCount(3, [], 2);
const delta = (seed: number) => Float32Array.from({ length: P }, (_, i) => Math.sin(seed * 31 + i) / 10);
const spend = { epsilon: 0.5, delta: 1e-5, dataset: 'cohort', mechanism: 'gaussian', epsilonTotal: 0.5, epsilonBudget: 8, epsilonRemaining: 7.5 };


describe('a retried task finishes the round (PostgreSQL, real gRPC)', () => {
  let t: TestCoordinator;
  let client: CoordinatorClient;

  beforeAll(async () => {
    t = await startTestCoordinator('postgres');
    for (const s of ['site-a', 'site-b', 'site-c']) await t.coordinator.engine.registerSite(s, s);
    client = new CoordinatorClient(t.coordinator.grpc);
  });
  afterAll(async () => {
    client.close();
    await t.stop();
  });

  afterEach(async () => {
    for (const j of await t.coordinator.engine.listJobs()) if (j.status === 'running') await t.coordinator.engine.stopJob(j.id, 'test finished');
  });

  const auditCount = async (action: string, jobId: string) => (await t.coordinator.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM audit_events WHERE action = $1 AND job = $2`, [action, jobId])).rows[0]!.n;

  it('acknowledges the same metrics report again, refuses a different one (METRICS_CONFLICT), records privacy.spend once', async () => {
    const job = await t.coordinator.engine.createJob(spec(['site-a', 'site-b', 'site-c']), 'tester');
    const task = (await client.pollTask('site-a', 1000)).task!;
    const evalReport = { siteId: 'site-a', jobId: job.id, round: 1, phase: 'eval', modelRound: 0, loss: 0.693, accuracy: 0.5, numSamples: 40, privacySpend: undefined, paramsSha256: '' };
    await client.reportMetrics(evalReport);
    // The reproduction: a coordinator restart makes the agent send its evaluation again; it used to be refused (METRICS_INVALID).
    await expect(client.reportMetrics(evalReport)).resolves.toBeDefined();
    expect(await codeOf(client.reportMetrics({ ...evalReport, loss: 0.7 }))).toBe('METRICS_CONFLICT');

    await client.submitUpdate({ siteId: 'site-a', jobId: job.id, round: 1, submissionId: `${job.id}:1:site-a`, numSamples: 40, baseModelId: task.modelId },
      encodeVector(delta(1)));
    const trainReport = { ...evalReport, phase: 'train', modelRound: 1, loss: 0.61, accuracy: 0.7, privacySpend: spend };
    await client.reportMetrics(trainReport);
    await client.reportMetrics(trainReport);
    expect(await auditCount('privacy.spend', job.id)).toBe(1);
  });

  it('excludes a stored contribution that no longer matches its digest, audits it, and takes the resent bytes', async () => {
    const job = await t.coordinator.engine.createJob(spec(['site-a', 'site-b', 'site-c'], { minSites: 3 }), 'tester');
    const tasks = Object.fromEntries(await Promise.all(['site-a', 'site-b', 'site-c'].map(async (s) => [s, (await client.pollTask(s, 1000)).task!] as const)));
    const header = (site: string) => ({ siteId: site, jobId: job.id, round: 1, submissionId: `${job.id}:1:${site}`, numSamples: 10, baseModelId: tasks[site]!.modelId });
    const bytesA = encodeVector(delta(1));
    await client.submitUpdate(header('site-a'), bytesA);
    await client.submitUpdate(header('site-b'), encodeVector(delta(2)));
    // The disk (or a person) changes site-a's stored update before the round aggregates.
    const { rows } = await t.coordinator.db.query<{ blob_key: string }>(`SELECT blob_key FROM contributions WHERE job_id = $1 AND site_id = 'site-a'`, [job.id]);
    await t.coordinator.blobs.put(rows[0]!.blob_key, encodeVector(delta(99)));
    await client.submitUpdate(header('site-c'), encodeVector(delta(3)));

    // It used to stay `aggregating` for ever; now the contribution is excluded and site-a is handed its task again.
    const again = await eventually('site-a to be asked again', async () => (await client.pollTask('site-a', 500)).task);
    expect(again).toMatchObject({ jobId: job.id, round: 1, kind: TaskKind.TASK_KIND_TRAIN });
    expect(await auditCount('submission.exclude', job.id)).toBe(1);
    const resent = await client.submitUpdate(header('site-a'), bytesA);
    expect(resent.alreadyAccepted).toBe(false);
    const closed = await eventually('round 1 to close', async () => (await t.coordinator.engine.rounds(job.id)).find((r) => r.round === 1 && r.status === 'closed'));
    expect(closed.output_model_id).toBeTruthy();
    const contributors = await t.coordinator.db.query<{ site_id: string }>('SELECT site_id FROM contributions WHERE job_id = $1 AND round = 1 ORDER BY site_id', [job.id]);
    expect(contributors.rows.map((r) => r.site_id)).toEqual(['site-a', 'site-b', 'site-c']);
  });

  it('fails the round as CONTRIBUTION_CORRUPTED when the site does not resend before the deadline and the quorum cannot be met', async () => {
    const job = await t.coordinator.engine.createJob(spec(['site-a', 'site-b', 'site-c'], { minSites: 3, roundDeadlineSeconds: 10 }), 'tester');
    const tasks = Object.fromEntries(await Promise.all(['site-a', 'site-b', 'site-c'].map(async (s) => [s, (await client.pollTask(s, 1000)).task!] as const)));
    const header = (site: string) => ({ siteId: site, jobId: job.id, round: 1, submissionId: `${job.id}:1:${site}`, numSamples: 10, baseModelId: tasks[site]!.modelId });
    await client.submitUpdate(header('site-a'), encodeVector(delta(1)));
    await client.submitUpdate(header('site-b'), encodeVector(delta(2)));
    const { rows } = await t.coordinator.db.query<{ blob_key: string }>(`SELECT blob_key FROM contributions WHERE job_id = $1 AND site_id = 'site-b'`, [job.id]);
    await t.coordinator.blobs.delete(rows[0]!.blob_key);
    await client.submitUpdate(header('site-c'), encodeVector(delta(3)));
    const failed = await eventually('the job to fail', async () => {
      const j = await t.coordinator.engine.job(job.id);
      return j.status === 'failed' ? j : null;
    });
    expect(failed.failure).toMatch(/site-b \(stored update corrupted, not resent in time\)/);
    const reason = await t.coordinator.db.query<{ reason: string }>(
      `SELECT (event::jsonb)->'details'->>'reason' AS reason FROM audit_events WHERE action = 'job.fail' AND job = $1`, [job.id]);
    expect(reason.rows[0]?.reason).toBe('CONTRIBUTION_CORRUPTED');
  });
});

describe('one leader per database', () => {
  it('refuses a second coordinator on the same database (NOT_LEADER) and fences a deposed leader\'s writes', async () => {
    const testDb = await freshDatabase('postgres', { migrate: false });
    const dirs = [await mkdtemp(join(tmpdir(), 'medfed-ha-a-')), await mkdtemp(join(tmpdir(), 'medfed-ha-b-'))];
    const config = (dataDir: string) => loadCoordinatorConfig({
      env: {}, overrides: { 'rest.port': 0, 'grpc.port': 0, dataDir, logLevel: 'silent', databaseUrl: testDb.url, tickSeconds: 0.2 },
    });
    const first = await startCoordinator(await config(dirs[0]!), pino({ level: 'silent' }));
    try {
      // The reproduction: a second coordinator used to start silently and advance the same rounds.
      expect(await codeOf(startCoordinator(await config(dirs[1]!), pino({ level: 'silent' })))).toBe('NOT_LEADER');
      await first.engine.registerSite('site-a', 'A');
      // Another replica takes the lease (as after this one stalled past its lease): every later write is refused, nothing lands.
      await testDb.db.query(`UPDATE coordinator_lease SET holder = 'replica-b', epoch = epoch + 1 WHERE name = 'leader'`);
      expect(await codeOf(first.engine.registerSite('site-b', 'B'))).toBe('NOT_LEADER');
      const sites = await testDb.db.query<{ id: string }>('SELECT id FROM sites ORDER BY id');
      expect(sites.rows.map((r) => r.id)).toEqual(['site-a']);
    } finally {
      await first.close();
      await testDb.drop();
      for (const d of dirs) await rm(d, { recursive: true, force: true });
    }
  });
});
