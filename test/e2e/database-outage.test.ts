import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { encodeVector, parameterCount, type JobSpec } from '@medfed/proto';
import { loadCoordinatorConfig, startCoordinator, type RunningCoordinator } from '@medfed/coordinator';
import { CoordinatorClient } from '@medfed/node-agent/transport/client';
import { freshDatabase, type TestDb } from '../../coordinator/test/support/databases.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { codeOf } from '../support/error-code.js';
import { eventually } from '../support/eventually.js';

const P = parameterCount(3, [], 2);
const spec: JobSpec = {
  name: 'outage', features: ['f1', 'f2', 'f3'], label: 'y', classes: ['no', 'yes'], model: { hidden: [], activation: 'relu' },
  training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 7 },
  rounds: 1, minSites: 2, roundDeadlineSeconds: 120, strategy: { name: 'fedavg' }, sites: ['site-a', 'site-b'], standardization: 'none',
};


/**
 * PostgreSQL made unreachable for 20 s under a running coordinator, through a TCP proxy that drops
 * every connection and refuses new ones (the shared server is not stopped).
 */
describe('the coordinator survives a 20 s database outage', () => {
  let testDb: TestDb;
  let proxy: TcpProxy;
  let coordinator: RunningCoordinator;
  let dataDir: string;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => { rejections.push(reason); };

  beforeAll(async () => {
    process.on('unhandledRejection', onRejection);
    testDb = await freshDatabase('postgres', { migrate: false });
    const url = new URL(testDb.url!);
    proxy = await TcpProxy.start({ target: { host: url.hostname, port: Number(url.port || 5432) } });
    url.port = String(proxy.port);
    dataDir = await mkdtemp(join(tmpdir(), 'medfed-outage-'));
    const config = await loadCoordinatorConfig({
      env: {}, overrides: {
        'rest.port': 0, 'grpc.port': 0, dataDir, logLevel: 'silent', databaseUrl: url.toString(), tickSeconds: 0.2,
        'auth.allowAnonymousNodes': true, 'ha.leaseSeconds': 8,
      },
    });
    coordinator = await startCoordinator(config, pino({ level: process.env.MEDFED_TEST_LOG ?? 'silent' }));
    for (const s of spec.sites) await coordinator.engine.registerSite(s, s);
  }, 60_000);
  afterAll(async () => {
    process.off('unhandledRejection', onRejection);
    await coordinator.close().catch(() => {});
    await proxy.close();
    await testDb.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('reports not ready, answers a retryable DATABASE_UNAVAILABLE, and finishes the round when the database returns', async () => {
    const job = await coordinator.engine.createJob(spec, 'tester');
    const client = new CoordinatorClient(coordinator.grpc);
    try {
      const task = (await client.pollTask('site-a', 1000)).task!;
      const header = (site: string) => ({ siteId: site, jobId: job.id, round: 1, submissionId: `${job.id}:1:${site}`, numSamples: 10, baseModelId: task.modelId });
      await client.submitUpdate(header('site-a'), encodeVector(new Float32Array(P).fill(0.01)));

      await proxy.pause();
      // Readiness and gRPC health follow the database; the process stays up (it used to die within half a second).
      await eventually('readiness to turn 503', async () => (await fetch(`${coordinator.rest}/readyz`)).status === 503);
      const refused = await codeOf(client.submitUpdate(header('site-b'), encodeVector(new Float32Array(P).fill(0.02))));
      expect(['DATABASE_UNAVAILABLE', 'BLOB_STORE_UNAVAILABLE']).toContain(refused);
      await new Promise((r) => setTimeout(r, 20_000 - 2_000));
      expect(coordinator.databaseHealth.state).toBe('unavailable');
      proxy.resume();

      await eventually('readiness to return', async () => (await fetch(`${coordinator.rest}/readyz`)).status === 200);
      // The site retries and the round finishes by itself.
      await eventually('the retried upload to be accepted', async () => {
        await client.submitUpdate(header('site-b'), encodeVector(new Float32Array(P).fill(0.02)));
        return true;
      });
      const closed = await eventually('round 1 to close', async () => (await coordinator.engine.rounds(job.id)).find((r) => r.round === 1 && r.status === 'closed'));
      expect(closed.output_model_id).toBeTruthy();
      expect(rejections).toEqual([]);
    } finally {
      client.close();
    }
  }, 240_000);
});
