import { mkdir, mkdtemp, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  applyServerStep, EncryptedAccumulator, encodeVector, encryptUpdate, FixedPointMean, generateKeys, heContext,
  parameterCount, paramsSha256, resolveStrategy, TaskKind, vectorHeader, writeKeyFile,
  type HeContext, type HeSecretKey, type JobSpec, type ServerState, type Task,
} from '@medfed/proto';
import { createSoftwareAttester, generateAttestationKey } from '@medfed/proto/attestation/index';
import { ensureSiteKeys } from '../../src/custody/site-keys.js';
import { JobKeyStore } from '../../src/custody/job-key-store.js';
import { loadDataset, type LocalDataset } from '../../src/data/index.js';
import { createTrainerSandbox, type TrainerSandbox } from '../../src/sandbox/index.js';
import { reconstructGlobal, type ModelContext } from '../../src/tasks/encrypted-model.js';
import type { ChainLink, TaskEncryption } from '../../src/tasks/encryption-context.js';
import { taskEncryption } from '../../src/tasks/encryption-context.js';
import { runEvaluateTask } from '../../src/tasks/model-task.js';
import { parseTaskSpec } from '../../src/tasks/task-context.js';
import { CoordinatorClient } from '../../src/transport/client.js';
import { FakeCoordinator, jobSpec, siteCsv } from '../support/fake-coordinator.js';
import { LEVEL, memoryLog } from '../support/memory-log.js';

const PARAM_SET = 'bfv-n4096-q60-t48-2x23';
const CLIP = 1;
const FRAC_BITS = 16;
const SITES = ['site-a', 'site-b', 'site-c'] as const;
/** The sites' sample-count shares, as the coordinator announces them. */
const WEIGHTS = [0.2, 0.3, 0.5];
const ROUNDS = 3;

/** A deterministic update in [-0.4, 0.4] per site and round (within the clip the encoding carries). */
function updateOf(site: number, round: number, length: number): Float32Array {
  let x = (site + 1) * 7919 + round * 104_729;
  return Float32Array.from({ length }, () => {
    x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
    return ((x / 2 ** 32) - 0.5) * 0.8;
  });
}

describe.each(['fedadam', 'fedavgm'] as const)('an encrypted %s job: every site applies the server step to the decrypted sums', (strategyName) => {
  const spec: JobSpec = jobSpec({
    name: `encrypted-${strategyName}`, model: { hidden: [4], activation: 'relu' }, sites: [...SITES],
    strategy: { name: strategyName }, encryption: { enabled: true, paramSet: PARAM_SET, clipNorm: CLIP, fracBits: FRAC_BITS },
  });
  const P = parameterCount(spec.features.length, spec.model.hidden, spec.classes.length);
  const jobId = `job-${strategyName}`;
  let fake: FakeCoordinator;
  let client: CoordinatorClient;
  let he: HeContext;
  let key: HeSecretKey;
  let dataset: LocalDataset;
  let sandbox: TrainerSandbox;
  const dirs: string[] = [];
  /** Round r's global model as the plaintext twin computes it (index 0: the initial model). */
  const twin: Float32Array[] = [];
  /** The initial model, then one encrypted sum per round. */
  const chain: ChainLink[] = [];

  beforeAll(async () => {
    fake = await FakeCoordinator.start();
    client = new CoordinatorClient(fake.address);
    he = await heContext(PARAM_SET);
    key = generateKeys(he);
    const initial = Float32Array.from({ length: P }, (_, i) => Math.sin(i + 1) / 4);
    chain.push({ ...link(fake.addModel('m0', initial), 0, 'weights'), totalWeight: null, contributors: null });
    twin.push(initial);
    const strategy = resolveStrategy(spec.strategy, { encrypted: true });
    let state: ServerState | null = null;
    const totalWeight = WEIGHTS.reduce((a, b) => a + b, 0);
    for (let round = 1; round <= ROUNDS; round++) {
      // The sites encrypt their weighted updates; the coordinator adds what it cannot read.
      const encoding = { kind: 'fixed-point' as const, clip: CLIP, fracBits: FRAC_BITS, maxSites: SITES.length };
      const acc = EncryptedAccumulator.create(he, vectorHeader(he, key.keyId, P, encoding));
      const mean = new FixedPointMean(P, FRAC_BITS);
      SITES.forEach((site, s) => {
        const update = updateOf(s, round, P);
        acc.addVector(site, encryptUpdate(he, key, update, { clip: CLIP, fracBits: FRAC_BITS, maxSites: SITES.length, weight: WEIGHTS[s]! }));
        mean.add(update, WEIGHTS[s]!);
      });
      const sum = fake.addEncryptedSum(`sum-${round}`, acc.finish());
      acc.dispose();
      chain.push({ ...link(sum, round, 'update-sum'), totalWeight, contributors: [...SITES] });
      // The plaintext twin: the same fixed-point mean and the same server step, no encryption.
      const next = applyServerStep(strategy, twin[round - 1]!, mean.mean(totalWeight), state);
      twin.push(next.global);
      state = next.state;
    }
    const dir = await mkdtemp(join(tmpdir(), 'medfed-encrypted-data-'));
    dirs.push(dir);
    await writeFile(join(dir, 'data.csv'), siteCsv());
    dataset = await loadDataset(join(dir, 'data.csv'), { label: 'y' });
    sandbox = await createTrainerSandbox({ env: 'development', onWarning: () => undefined });
  });
  afterAll(async () => {
    client?.close();
    await fake?.close();
    await sandbox?.dispose();
    key?.dispose();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  function link(model: { modelId: string; modelSha256: string }, round: number, kind: ChainLink['kind']): Omit<ChainLink, 'totalWeight' | 'contributors'> {
    return { modelId: model.modelId, round, sha256: model.modelSha256, kind };
  }

  /** The task of `round` (its chain ends with round-1's sum, the model the round starts from). */
  function taskFor(round: number, kind: TaskKind = TaskKind.TASK_KIND_EVALUATE): Task {
    const settings = { paramSet: PARAM_SET, keyId: key.keyId, epoch: 1, clipNorm: CLIP, fracBits: FRAC_BITS, maxSites: SITES.length, weight: WEIGHTS[0]! };
    const last = chain[round - 1]!;
    return {
      jobId, round, kind, jobSpecJson: JSON.stringify(spec), standardizationJson: '', modelId: last.modelId, modelSha256: last.sha256,
      modelRound: round - 1, weight: 0, deadlineMs: Date.now() + 120_000, updateLength: P, keyTaskJson: '',
      encryptionJson: JSON.stringify(settings), modelChainJson: JSON.stringify(chain.slice(0, round)), statsSumJson: '',
      attestationNonce: '', releaseJson: '',
    };
  }

  /** A site with its own state dir, holding the job's key in its 0600 key file (as after the ceremony). */
  async function site(siteId: string) {
    const stateDir = await mkdtemp(join(tmpdir(), `medfed-encrypted-${siteId}-`));
    dirs.push(stateDir);
    await mkdir(join(stateDir, 'he-keys'), { recursive: true, mode: 0o700 });
    await writeKeyFile(join(stateDir, 'he-keys', `${jobId}-e1.key`), { job: jobId, epoch: 1, siteId, paramSetId: PARAM_SET, keyId: key.keyId, secretKey: key.export() });
    const keyStore = new JobKeyStore(stateDir, siteId, await ensureSiteKeys(stateDir));
    const logged = memoryLog();
    const context = (task: Task): ModelContext => ({
      client, siteId, task, spec, log: logged.log, stateDir, keyStore,
      fetchWrappedKey: () => Promise.reject(new Error('the key file is in place; nothing is fetched')),
    });
    const rebuild = async (round: number): Promise<Buffer> => {
      const task = taskFor(round);
      return Buffer.from(encodeVector(await reconstructGlobal(context(task), taskEncryption(task) as TaskEncryption, P)));
    };
    const rebuilt = () => logged.messages(/^model rebuilt: /);
    return { siteId, stateDir, keyStore, rebuild, rebuilt, context, cacheDir: join(stateDir, 'models', jobId) };
  }

  const bytesOf = (v: Float32Array) => Buffer.from(encodeVector(v));

  it('gives two sites the same model bytes as the plaintext twin, and a lost cache is replayed to the same bytes', async () => {
    const a = await site('site-a');
    const b = await site('site-b');
    // Site a follows the job round by round: each task decrypts one new sum.
    for (let round = 2; round <= ROUNDS + 1; round++) expect(await a.rebuild(round)).toEqual(bytesOf(twin[round - 1]!));
    expect(a.rebuilt().map((l) => l.sums)).toEqual([1, 1, 1]);
    // The cache holds each round's model and the strategy's state beside it.
    expect((await readdir(a.cacheDir)).sort()).toEqual(['sum-1.f32', 'sum-1.state', 'sum-2.f32', 'sum-2.state', 'sum-3.f32', 'sum-3.state']);
    // Site b joins at the last round: it replays the whole chain, and says what that cost.
    const joined = await b.rebuild(ROUNDS + 1);
    expect(joined).toEqual(bytesOf(twin[ROUNDS]!));
    expect(b.rebuilt()).toEqual([expect.objectContaining({ level: LEVEL.info, sums: ROUNDS, replayed: true, strategy: strategyName, ms: expect.any(Number) })]);
    expect(b.rebuilt()[0]!.msg).toMatch(new RegExp(`^model rebuilt: ${ROUNDS} sums decrypted in \\d+ ms$`));
    // The server step mattered: the model is not the initial one plus the mean deltas (FedAvg).
    const fedAvg = resolveStrategy({ name: 'fedavg' }, { encrypted: true });
    let plain = twin[0]!;
    for (let round = 1; round <= ROUNDS; round++) {
      const mean = new FixedPointMean(P, FRAC_BITS);
      SITES.forEach((_, s) => mean.add(updateOf(s, round, P), WEIGHTS[s]!));
      plain = applyServerStep(fedAvg, plain, mean.mean(1), null).global;
    }
    expect(joined.equals(bytesOf(plain))).toBe(false);

    // Site a loses its cache: the replay from the initial model gives identical bytes.
    await rm(a.cacheDir, { recursive: true });
    const downloads = fake.count('downloadModel');
    expect(await a.rebuild(ROUNDS + 1)).toEqual(joined);
    expect(fake.count('downloadModel') - downloads).toBe(1 + ROUNDS);
    expect(a.rebuilt().at(-1)).toMatchObject({ level: LEVEL.info, sums: ROUNDS, replayed: true });
  });

  it('counts a cached model without its server state as not cached, and rebuilds it from the link before', async () => {
    const a = await site('site-a');
    expect(await a.rebuild(ROUNDS + 1)).toEqual(bytesOf(twin[ROUNDS]!));
    // A crash between writing the state and the model leaves the state; one that lost the state file leaves a model it cannot continue from.
    await unlink(join(a.cacheDir, `sum-${ROUNDS}.state`));
    const downloads = fake.count('downloadModel');
    expect(await a.rebuild(ROUNDS + 1)).toEqual(bytesOf(twin[ROUNDS]!));
    expect(fake.count('downloadModel') - downloads).toBe(1);
    expect(a.rebuilt().at(-1)).toMatchObject({ level: LEVEL.debug, sums: 1, replayed: false });
    // A damaged state file is no state either.
    await writeFile(join(a.cacheDir, `sum-${ROUNDS}.state`), 'not a server state');
    expect(await a.rebuild(ROUNDS + 1)).toEqual(bytesOf(twin[ROUNDS]!));
    expect(a.rebuilt().at(-1)).toMatchObject({ sums: 1 });
  });

  it('reports the digest of the evaluated model, the same at every site', async () => {
    const attester = createSoftwareAttester(generateAttestationKey());
    for (const id of ['site-a', 'site-b']) {
      const s = await site(id);
      const task = taskFor(ROUNDS + 1);
      await runEvaluateTask({
        ...s.context(task), ...parseTaskSpec(task), dataset, standardization: undefined, sandbox, attester,
        privacy: { dataset: 'cohort', budgetEpsilon: 50, budgetDelta: 1e-4 },
      });
    }
    const reports = fake.metrics.filter((m) => m.jobId === jobId && m.phase === 'eval');
    expect(reports.map((m) => [m.siteId, m.round, m.paramsSha256])).toEqual([
      ['site-a', ROUNDS + 1, paramsSha256(twin[ROUNDS]!)],
      ['site-b', ROUNDS + 1, paramsSha256(twin[ROUNDS]!)],
    ]);
  });
});
