import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { decodeVector, encodeVector, FederationClient, initialWeights, parameterCount, TaskKind, type JobSpec } from '@medfed/proto';
import { CoordinatorClient } from '@medfed/node-agent/transport/client';
import { versionNegotiation } from '@medfed/node-agent/transport/version-negotiation';
import { BACKENDS } from '../../coordinator/test/support/databases.js';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';
import { codeOf } from '../support/error-code.js';

const spec = (sites: string[], overrides: Partial<JobSpec> = {}): JobSpec => ({
  name: 'lifecycle', features: ['f1', 'f2', 'f3'], label: 'y', classes: ['no', 'yes'],
  model: { hidden: [], activation: 'relu' },
  training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 7 },
  rounds: 2, minSites: 2, roundDeadlineSeconds: 10, strategy: { name: 'fedavg' }, sites, standardization: 'none',
  ...overrides,
});

const P = parameterCount(3, [], 2);

function delta(seed: number): Float32Array {
  const d = new Float32Array(P);
  for (let i = 0; i < P; i++) d[i] = Math.sin(seed * 31 + i) / 10;
  return d;
}

describe.each(BACKENDS)('a round over real gRPC on %s', (backend) => {
  let t: TestCoordinator;
  let client: CoordinatorClient;

  beforeAll(async () => {
    t = await startTestCoordinator(backend);
    for (const s of ['site-a', 'site-b', 'site-c']) await t.coordinator.engine.registerSite(s, s);
    client = new CoordinatorClient(t.coordinator.grpc);
  });
  afterAll(async () => {
    client.close();
    await t.stop();
  });

  it('serves the standard gRPC health service', async () => {
    const HealthClient = grpc.makeGenericClientConstructor({
      check: {
        path: '/grpc.health.v1.Health/Check', requestStream: false, responseStream: false,
        requestSerialize: (service: string) => Buffer.concat([Buffer.from([0x0a, service.length]), Buffer.from(service)]),
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    }, 'Health');
    const health = new HealthClient(t.coordinator.grpc, grpc.credentials.createInsecure());
    const reply = await new Promise<Buffer>((resolve, reject) =>
      (health as unknown as { check: (r: string, cb: (e: Error | null, r: Buffer) => void) => void })
        .check('medfed.v1.Federation', (e, r) => (e ? reject(e) : resolve(r))));
    health.close();
    expect([...reply]).toEqual([0x08, 0x01]); // status: SERVING
  });

  it('refuses an unknown site with a clear error', async () => {
    const err = await client.pollTask('site-zzz', 100).catch((e: unknown) => e) as { code: string; message: string };
    expect(err.code).toBe('UNKNOWN_SITE');
    expect(err.message).toContain('site-zzz');
  });

  it('runs the lifecycle: dedupe, disconnect mid-upload, quorum at the deadline, late refusal, FedAvg weights', async () => {
    const job = await t.coordinator.engine.createJob(spec(['site-a', 'site-b', 'site-c']), 'tester');
    const taskA = (await client.pollTask('site-a', 1000)).task!;
    expect(taskA.kind).toBe(TaskKind.TASK_KIND_TRAIN);
    expect(taskA.updateLength).toBe(P);
    const model0 = await client.downloadModel('site-a', job.id, taskA.modelId, taskA.modelSha256);
    const global0 = decodeVector(model0.bytes, 'float32', P);
    expect([...global0]).toEqual([...initialWeights(3, [], 2, 7)]);

    const header = (site: string, submissionId: string, n: number) => ({
      siteId: site, jobId: job.id, round: 1, submissionId, numSamples: n, baseModelId: taskA.modelId, baseRound: 0,
    });
    const dA = delta(1);
    const first = await client.submitUpdate(header('site-a', 'a-1', 10), encodeVector(dA));
    expect(first.alreadyAccepted).toBe(false);
    const retry = await client.submitUpdate(header('site-a', 'a-1', 10), encodeVector(dA));
    expect(retry.alreadyAccepted).toBe(true);
    expect(await codeOf(client.submitUpdate(header('site-a', 'a-2', 10), encodeVector(delta(9))))).toBe('DUPLICATE_SUBMISSION');

    // Garbage is refused and stores nothing.
    const nan = delta(2); nan[3] = Number.NaN;
    expect(await codeOf(client.submitUpdate(header('site-b', 'b-nan', 30), encodeVector(nan)))).toBe('UPDATE_INVALID');
    expect(await codeOf(client.submitUpdate(header('site-b', 'b-short', 30), encodeVector(new Float32Array(P - 1))))).toBe('UPDATE_SIZE_MISMATCH');
    expect(await codeOf(client.submitUpdate({ ...header('site-b', 'b-base', 30), baseModelId: 'model-x' }, encodeVector(delta(2))))).toBe('ROUND_MISMATCH');

    // A client that goes away mid-upload leaves nothing behind.
    const raw = new FederationClient(t.coordinator.grpc, grpc.credentials.createInsecure(), { interceptors: [versionNegotiation()] });
    const payload = encodeVector(delta(2));
    await new Promise<void>((resolve) => {
      const call = raw.submitUpdate((err) => { expect(err?.code).toBe(grpc.status.CANCELLED); resolve(); });
      call.write({ part: { $case: 'header', value: { ...header('site-b', 'b-1', 30), byteSize: payload.byteLength,
        sha256: createHash('sha256').update(payload).digest('hex') } } });
      call.write({ part: { $case: 'data', value: payload.subarray(0, 8) } });
      setTimeout(() => call.cancel(), 100);
    });
    raw.close();
    const partial = await t.coordinator.db.query(`SELECT * FROM contributions WHERE site_id = 'site-b'`);
    expect(partial.rows).toHaveLength(0);

    // A header that lies about the digest is refused after the bytes arrive.
    const badDigest = new FederationClient(t.coordinator.grpc, grpc.credentials.createInsecure(), { interceptors: [versionNegotiation()] });
    const digestErr = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = badDigest.submitUpdate((err) => resolve(err));
      call.write({ part: { $case: 'header', value: { ...header('site-b', 'b-1', 30), byteSize: payload.byteLength, sha256: '0'.repeat(64) } } });
      call.write({ part: { $case: 'data', value: payload } });
      call.end();
    });
    badDigest.close();
    expect(digestErr?.metadata.get('medfed-code')[0]).toBe('UPDATE_DIGEST_MISMATCH');

    const dB = decodeVector(payload, 'float32', P);
    await client.submitUpdate(header('site-b', 'b-1', 30), payload);

    // site-c never submits: the round closes at its deadline with 2 >= minSites contributions.
    const started = Date.now();
    let next;
    for (;;) {
      next = (await client.pollTask('site-a', 2000)).task;
      if (next) break;
      if (Date.now() - started > 60_000) throw new Error('round 1 never closed');
    }
    expect(next.round).toBe(2);
    const model1 = await client.downloadModel('site-a', job.id, next.modelId, next.modelSha256);
    const global1 = decodeVector(model1.bytes, 'float32', P);
    for (let i = 0; i < P; i++) {
      // No statistics round: each site weighs an equal share, as an encrypted job would announce.
      expect(global1[i]!).toBeCloseTo(global0[i]! + (dA[i]! + dB[i]!) / 2, 5);
    }

    // site-c's late submission for the closed round is refused.
    expect(await codeOf(client.submitUpdate({ ...header('site-c', 'c-1', 5) }, encodeVector(delta(3))))).toBe('ROUND_CLOSED');
    const view = await fetch(`${t.coordinator.rest}/v1/jobs/${job.id}`, { headers: { authorization: `Bearer ${t.coordinator.adminToken}` } });
    const body = await view.json() as { rounds: { round: number; status: string; contributions: unknown[] }[] };
    expect(body.rounds.find((r) => r.round === 1)).toMatchObject({ status: 'closed' });
    expect(body.rounds.find((r) => r.round === 1)?.contributions).toHaveLength(2);
    await t.coordinator.engine.stopJob(job.id, 'test finished');
  });

  it('fails a round that misses its quorum, naming the missing sites', async () => {
    const job = await t.coordinator.engine.createJob(spec(['site-a', 'site-b', 'site-c'], { minSites: 3, roundDeadlineSeconds: 5 }), 'tester');
    const task = (await client.pollTask('site-a', 1000)).task!;
    expect(task.jobId).toBe(job.id);
    await client.submitUpdate({ siteId: 'site-a', jobId: job.id, round: 1, submissionId: 'q-a', numSamples: 5, baseModelId: task.modelId },
      encodeVector(delta(4)));
    const until = Date.now() + 60_000;
    let status = 'running';
    let failure: string | null = null;
    while (status === 'running' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
      ({ status, failure } = await t.coordinator.engine.job(job.id));
    }
    expect(status).toBe('failed');
    expect(failure).toMatch(/1\/3 required sites; missing: site-b, site-c/);
  });
});
