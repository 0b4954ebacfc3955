import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JobSpec } from '@medfed/proto';
import { createSoftwareAttester, generateAttestationKey, type Attester } from '@medfed/proto/attestation/index';
import { loadDataset, type LocalDataset } from '../../src/data/index.js';
import { createTrainerSandbox, type SandboxTrainingSettings, type TrainerSandbox } from '../../src/sandbox/index.js';
import { runTrainTask } from '../../src/tasks/model-task.js';
import { parseTaskSpec } from '../../src/tasks/task-context.js';
import { CoordinatorClient } from '../../src/transport/client.js';
import { FakeCoordinator, jobSpec, siteCsv, trainTask } from '../support/fake-coordinator.js';
import { memoryLog } from '../support/memory-log.js';

describe("the strategy's round configuration reaches the site's trainer", () => {
  let fake: FakeCoordinator;
  let client: CoordinatorClient;
  let dataset: LocalDataset;
  let sandbox: TrainerSandbox;
  let attester: Attester;
  const dirs: string[] = [];

  beforeAll(async () => {
    fake = await FakeCoordinator.start();
    client = new CoordinatorClient(fake.address);
    const dir = await mkdtemp(join(tmpdir(), 'medfed-client-config-'));
    dirs.push(dir);
    await writeFile(join(dir, 'data.csv'), siteCsv());
    dataset = await loadDataset(join(dir, 'data.csv'), { label: 'y' });
    sandbox = await createTrainerSandbox({ env: 'development', onWarning: () => undefined });
    attester = createSoftwareAttester(generateAttestationKey());
  });
  afterAll(async () => {
    client?.close();
    await fake?.close();
    await sandbox?.dispose();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  /** Trains one plaintext round under `strategy` and returns the settings the trainer was started with. */
  async function trainedWith(jobId: string, strategy: JobSpec['strategy']): Promise<SandboxTrainingSettings> {
    const stateDir = await mkdtemp(join(tmpdir(), 'medfed-client-config-state-'));
    dirs.push(stateDir);
    const seen: SandboxTrainingSettings[] = [];
    const watched: TrainerSandbox = { ...sandbox, train: (request) => { seen.push(request.settings); return sandbox.train(request); } };
    // A task without an attestation nonce: the update is sent unattested (development), which is not what is looked at here.
    const task = { ...trainTask({ jobId, round: 1, spec: jobSpec({ strategy }), model: fake.addModel(`m-${jobId}`, new Float32Array(6)) }), attestationNonce: '' };
    await runTrainTask({
      client, siteId: 'site-a', dataset, log: memoryLog().log, task, ...parseTaskSpec(task), stateDir, keyStore: null as never, sandbox: watched, attester,
      privacy: { dataset: 'cohort', budgetEpsilon: 50, budgetDelta: 1e-4 }, fetchWrappedKey: () => Promise.reject(new Error('plaintext job')),
    });
    expect(seen).toHaveLength(1);
    return seen[0]!;
  }

  it('gives FedProx its proximal weight from the resolved strategy (default 0.01), and other strategies none', async () => {
    expect((await trainedWith('job-fedprox', { name: 'fedprox', mu: 0.5 })).proximalMu).toBe(0.5);
    expect((await trainedWith('job-fedprox-default', { name: 'fedprox' })).proximalMu).toBe(0.01);
    expect(await trainedWith('job-fedavgm', { name: 'fedavgm', momentum: 0.5 })).not.toHaveProperty('proximalMu');
    // A robust aggregator runs on plaintext jobs: the site trains as under FedAvg.
    expect(await trainedWith('job-krum', { name: 'krum' })).not.toHaveProperty('proximalMu');
  });
});
