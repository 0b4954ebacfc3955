import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobSpec, Task } from '@medfed/proto';
import { CoordinatorClient } from '../../src/transport/client.js';
import { createModelVerifier, expectedArtifact, type ModelVerifier } from '../../src/verification/index.js';
import { startTestCoordinator, type TestCoordinator } from '../../../test/support/coordinator.js';
import { codeOf } from '../../../test/support/error-code.js';

const SITES = ['site-a', 'site-b', 'site-c'];

const spec = (): JobSpec => ({
  name: 'witnesses', features: ['f1', 'f2', 'f3'], label: 'y', classes: ['no', 'yes'],
  model: { hidden: [4], activation: 'relu' },
  training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 7 },
  rounds: 1, minSites: 2, roundDeadlineSeconds: 30, strategy: { name: 'fedavg' }, sites: SITES, standardization: 'none',
});

describe('k witness cosignatures before load (trust.requiredCosignatures; real coordinator, gRPC, signed checkpoints)', () => {
  let t: TestCoordinator;
  let work: string;
  let trust: { manifestJwks: string; checkpointKey: string };
  let jobId: string;
  let task: Task;
  const clients: CoordinatorClient[] = [];
  let n = 0;

  /** An agent of `site` with its own state dir; it cosigns every checkpoint it verifies and sends the cosignature. */
  async function agent(site: string, extra: { requiredCosignatures?: number; witnessKeys?: string[] } = {}): Promise<{ client: CoordinatorClient; verifier: ModelVerifier }> {
    const client = new CoordinatorClient(t.coordinator.grpc);
    clients.push(client);
    const verifier = await createModelVerifier({
      env: 'production', siteId: site, stateDir: join(work, `${site}-${n++}`), trust: { ...trust, ...extra },
      submitCosignature: async (c) => { await client.submitCosignature(site, c); },
      onWarning: (m, err) => { throw new Error(`${m}: ${String(err)}`); },
    });
    client.verifier = verifier;
    await client.enroll(site, 'test', 'digest'); // registers this agent's witness key
    return { client, verifier };
  }

  // A deadline already reached: one attempt, no waiting for cosignatures (test/e2e/witness-cosignatures.test.ts waits).
  const download = (site: string, client: CoordinatorClient) =>
    client.downloadModel(site, jobId, task.modelId, task.modelSha256, expectedArtifact({ round: task.modelRound, kind: 'weights' }, Date.now()));

  beforeAll(async () => {
    t = await startTestCoordinator('pglite');
    work = await mkdtemp(join(tmpdir(), 'medfed-witnesses-'));
    const jwksFile = join(work, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify(t.coordinator.publisher.jwks()));
    trust = { manifestJwks: jwksFile, checkpointKey: t.coordinator.publisher.checkpointKey };
    for (const s of SITES) await t.coordinator.engine.registerSite(s, s);
    jobId = (await t.coordinator.engine.createJob(spec(), 'tester')).id;
    const poller = new CoordinatorClient(t.coordinator.grpc);
    clients.push(poller);
    task = (await poller.pollTask('site-a', 2000)).task!;
    expect(task.modelId).not.toBe('');
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await t.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('refuses a configuration that asks for more cosignatures than pinned witnesses', async () => {
    const b = await agent('site-b');
    const err = await createModelVerifier({
      env: 'production', siteId: 'site-a', stateDir: join(work, 'bad'), onWarning: () => {},
      trust: { ...trust, requiredCosignatures: 2, witnessKeys: [b.verifier.witnessVkey] },
    }).catch((e: unknown) => e);
    expect((err as { code: string }).code).toBe('TRUST_ANCHORS_INVALID');
  });

  it('loads a model only once k other sites have cosigned its checkpoint; its own cosignature never counts', async () => {
    const b = await agent('site-b');
    const c = await agent('site-c');
    const witnesses = [b.verifier.witnessVkey, c.verifier.witnessVkey];
    const a = await agent('site-a', { requiredCosignatures: 2, witnessKeys: witnesses });

    // Nobody else has vouched for this checkpoint yet: refused (site-a still cosigns it for the others).
    expect(await codeOf(download('site-a', a.client))).toBe('COSIGNATURES_INSUFFICIENT');
    // One witness of two.
    expect(await codeOf(download('site-b', b.client))).toBe('OK');
    expect(await codeOf(download('site-a', a.client))).toBe('COSIGNATURES_INSUFFICIENT');
    // Both: the same checkpoint now carries two cosignatures by pinned witnesses of other sites.
    expect(await codeOf(download('site-c', c.client))).toBe('OK');
    expect(await codeOf(download('site-a', a.client))).toBe('OK');

    // Pinning only its own witness key buys nothing: the same agent (same state dir, same witness key)
    // has cosigned this checkpoint, yet with k = 1 it does not even start.
    const dir = join(work, 'self');
    const first = await createModelVerifier({
      env: 'production', siteId: 'site-a', stateDir: dir, trust, onWarning: (m, err) => { throw new Error(`${m}: ${String(err)}`); },
      submitCosignature: async (c) => { await a.client.submitCosignature('site-a', c); },
    });
    a.client.verifier = first;
    await a.client.enroll('site-a', 'test', 'digest'); // the coordinator now takes this key's cosignatures for site-a
    expect(await codeOf(download('site-a', a.client))).toBe('OK');
    const own = first.witnessVkey;
    const stored = (await t.coordinator.publisher.tlog.latestCheckpoint())!.note;
    expect(stored).toContain(`— ${own.split('+')[0]} `); // its cosignature is on the checkpoint
    const selfOnly = await createModelVerifier({
      env: 'production', siteId: 'site-a', stateDir: dir, onWarning: () => {}, trust: { ...trust, requiredCosignatures: 1, witnessKeys: [own] },
    }).catch((e: unknown) => e);
    expect((selfOnly as { code: string }).code).toBe('TRUST_ANCHORS_INVALID');
    expect((selfOnly as Error).message).toContain('own witness key does not count');
  }, 60_000);
});
