import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobSpec } from '@medfed/proto';
import { CoordinatorClient } from '@medfed/node-agent/transport/client';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';
import { codeOf } from '../support/error-code.js';

const spec = (sites: string[]): JobSpec => ({
  name: 'errors', features: ['f1', 'f2', 'f3'], label: 'y', classes: ['no', 'yes'], model: { hidden: [], activation: 'relu' },
  training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 7 },
  rounds: 1, minSites: 1, roundDeadlineSeconds: 60, strategy: { name: 'fedavg' }, sites, standardization: 'none',
});

/** Every refusal of a streaming call reaches the client as a status with its medfed code, at once. */
describe('gRPC streaming calls answer refusals with a status, not a deadline', () => {
  let t: TestCoordinator;
  let work: string;
  const clients = new Map<string, CoordinatorClient>();

  beforeAll(async () => {
    t = await startTestCoordinator('pglite');
    work = await mkdtemp(join(tmpdir(), 'medfed-grpc-errors-'));
    for (const s of ['site-a', 'site-d']) {
      await t.coordinator.engine.registerSite(s, s);
      const client = new CoordinatorClient(t.coordinator.grpc);
      await client.enroll(s, 'test', 'digest');
      clients.set(s, client);
    }
  });
  afterAll(async () => {
    for (const c of clients.values()) c.close();
    await t.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('DownloadModel of a job the site is not in: SITE_NOT_IN_JOB', async () => {
    const job = await t.coordinator.engine.createJob(spec(['site-a']), 'tester');
    const task = await t.coordinator.engine.pollTask('site-a');
    expect(task?.modelId).toBeTruthy();
    const started = Date.now();
    const code = await codeOf(clients.get('site-d')!.downloadModel('site-d', job.id, task!.modelId!, task!.modelSha256!));
    expect(code).toBe('SITE_NOT_IN_JOB');
    expect(Date.now() - started).toBeLessThan(4_000); // the client's own deadline is 5 s: the status came first
  }, 60_000);

  it('DownloadModel of an unknown model: its own code, not DEADLINE_EXCEEDED', async () => {
    const job = await t.coordinator.engine.createJob(spec(['site-a']), 'tester');
    const code = await codeOf(clients.get('site-a')!.downloadModel('site-a', job.id, 'model-unknown', '0'.repeat(64)));
    expect(code).not.toBe('DEADLINE_EXCEEDED');
    expect(code).toMatch(/^[A-Z_]+$/);
    expect(code).not.toBe('OK');
  }, 60_000);
});
