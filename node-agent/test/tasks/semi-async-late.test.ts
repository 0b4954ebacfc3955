import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import {
  decodeEncryptedVector, decryptAggregate, EncryptedAccumulator, generateKeys, heContext, parameterCount, stalenessWeight, writeKeyFile,
  type HeContext, type HeSecretKey, type JobSpec, type Task, type UpdateHeader,
} from '@medfed/proto';
import { createSoftwareAttester, generateAttestationKey, type Attester } from '@medfed/proto/attestation/index';
import { ensureSiteKeys } from '../../src/custody/site-keys.js';
import { JobKeyStore } from '../../src/custody/job-key-store.js';
import { loadDataset, type LocalDataset } from '../../src/data/index.js';
import { PrivacyLedger } from '../../src/privacy/ledger/index.js';
import { createTrainerSandbox, type TrainerSandbox } from '../../src/sandbox/index.js';
import { runTrainTask } from '../../src/tasks/model-task.js';
import { RoundJournal, type RoundRecord } from '../../src/tasks/round-journal.js';
import { parseTaskSpec, type TaskContext } from '../../src/tasks/task-context.js';
import { sendPendingTrainReports } from '../../src/tasks/round-reports.js';
import { CoordinatorClient, CoordinatorError } from '../../src/transport/client.js';
import { dispositionOf } from '../../src/transport/retry-policy.js';
import { FakeCoordinator, jobSpec, siteCsv, trainTask, type Failure } from '../support/fake-coordinator.js';
import { LEVEL, memoryLog } from '../support/memory-log.js';

const FAILED_PRECONDITION = grpc.status.FAILED_PRECONDITION;
const DP: JobSpec['dp'] = { noiseMultiplier: 1.5, clipNorm: 1, sampleRate: 0.25, delta: 1e-5 };
const PARAM_SET = 'bfv-n4096-q60-t48-2x23';
const FRAC_BITS = 16;

/** The refusal of a semi-asynchronous coordinator whose round closed; `openRound` undefined: none is open. */
const closed = (openRound?: number): Failure => ({
  status: FAILED_PRECONDITION, code: 'ROUND_CLOSED', message: 'round closed', ...(openRound !== undefined ? { openRound } : {}),
});

describe('semi-asynchronous rounds at the site: an update that arrives after its round closed', () => {
  let fake: FakeCoordinator;
  let client: CoordinatorClient;
  let dataset: LocalDataset;
  let sandbox: TrainerSandbox;
  let attester: Attester;
  const dirs: string[] = [];

  beforeAll(async () => {
    fake = await FakeCoordinator.start();
    client = new CoordinatorClient(fake.address);
    const dir = await mkdtemp(join(tmpdir(), 'medfed-late-data-'));
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

  async function site() {
    const stateDir = await mkdtemp(join(tmpdir(), 'medfed-late-'));
    dirs.push(stateDir);
    const logged = memoryLog();
    const context = (task: Task, overrides: Partial<TaskContext> = {}): TaskContext => ({
      client, siteId: 'site-a', dataset, log: logged.log, task: { ...task, attestationNonce: randomBytes(32).toString('base64url') },
      ...parseTaskSpec(task), stateDir, keyStore: null as never, sandbox, attester,
      privacy: { dataset: 'cohort', budgetEpsilon: 50, budgetDelta: 1e-4 },
      fetchWrappedKey: () => Promise.reject(new Error('the key file is in place; nothing is fetched')),
      ...overrides,
    });
    const ledgerEntries = async () => (await new PrivacyLedger({ stateDir, dataset: 'cohort' }).read()).entries;
    const journal = async (job: string, round: number): Promise<RoundRecord> => {
      const read = await new RoundJournal(stateDir).read(job, round);
      if (read.state !== 'found') throw new Error(`no journal for ${job} round ${round}`);
      return read.record;
    };
    return { stateDir, ...logged, context, ledgerEntries, journal };
  }

  const uploadsOf = (jobId: string) => fake.uploads.filter((u) => u.header.jobId === jobId);
  const trainMetricsOf = (jobId: string) => fake.metrics.filter((m) => m.jobId === jobId && m.phase === 'train');
  const statementOf = (attestation: string) => JSON.parse(Buffer.from(attestation.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  /** Refuses this job's uploads to the rounds in `refusals` as a semi-asynchronous coordinator would. */
  const refuse = (jobId: string, refusals: Record<number, Failure>) => {
    fake.fault = (method, req) => (method === 'submitUpdate' && (req as UpdateHeader).jobId === jobId ? refusals[(req as UpdateHeader).round] : undefined);
  };

  it('sends a plaintext update refused ROUND_CLOSED to the open round with its base round, following the round as it moves', async () => {
    const s = await site();
    const jobId = 'job-late-plain';
    const spec = jobSpec({ dp: DP, strategy: { name: 'fedavg', closeAfter: 1, maxStaleness: 2 } });
    const task = trainTask({ jobId, round: 2, spec, model: fake.addModel('late-plain-m1', Float32Array.from([0.1, -0.2, 0.05, 0.3, 0, 0.01])) });
    // Round 2 closed while the site trained; round 3 closes too while the late update is on its way.
    refuse(jobId, { 2: closed(3), 3: closed(4) });
    const ctx = s.context(task);
    await runTrainTask(ctx);

    const uploads = uploadsOf(jobId);
    expect(uploads.map((u) => [u.header.round, u.header.baseRound, u.header.submissionId, u.outcome])).toEqual([
      [2, 0, `${jobId}:2:site-a`, 'ROUND_CLOSED'],
      [3, 2, `${jobId}:2:site-a:late3`, 'ROUND_CLOSED'],
      [4, 2, `${jobId}:2:site-a:late4`, 'accepted'],
    ]);
    // Plaintext: the same clipped delta every time (the coordinator applies the staleness weight), from the round's input model.
    expect(new Set(uploads.map((u) => u.sha256)).size).toBe(1);
    expect(uploads.every((u) => u.header.baseModelId === task.modelId)).toBe(true);
    // The attestation is the one round 2 would have had: its task's nonce, the bytes sent.
    const accepted = uploads[2]!;
    expect(statementOf(accepted.header.attestation)).toMatchObject({ round: 2, nonce: ctx.task.attestationNonce, updateSha256: accepted.sha256, job: jobId });
    // The train metrics count in round 4, with the round's one charge.
    const reports = trainMetricsOf(jobId);
    expect(reports.map((m) => [m.round, m.modelRound])).toEqual([[4, 4]]);
    expect(reports[0]!.privacySpend).toBeDefined();
    expect(await s.ledgerEntries()).toHaveLength(1);
    const record = await s.journal(jobId, 2);
    expect(record).toMatchObject({ upload: { late: { round: 4, staleness: 2 }, sha256: accepted.sha256 }, accepted: accepted.sha256, trainReported: true });
    expect(s.messages('update submitted')).toEqual([expect.objectContaining({ job: jobId, round: 2, countsIn: 4, staleness: 2 })]);
  });

  it('retries a late update that failed transiently with the same bytes, to the same round', async () => {
    const s = await site();
    const jobId = 'job-late-retry';
    const spec = jobSpec({ strategy: { name: 'fedavg', closeAfter: 1 } });
    const task = trainTask({ jobId, round: 1, spec, model: fake.addModel('late-retry-m0', new Float32Array(6).fill(0.05)) });
    let drops = 1;
    fake.fault = (method, req) => {
      const h = req as UpdateHeader;
      if (method !== 'submitUpdate' || h.jobId !== jobId) return undefined;
      if (h.round === 1) return closed(2);
      return drops-- > 0 ? { status: grpc.status.UNAVAILABLE, message: 'Connection dropped' } : undefined;
    };
    const retryInPlace = async <T>(_what: string, fn: () => Promise<T>): Promise<T> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await fn();
        } catch (err) {
          if (attempt >= 3 || dispositionOf(err) !== 'transient') throw err;
        }
      }
    };
    await runTrainTask(s.context(task, { retryInPlace }));
    const late = uploadsOf(jobId).filter((u) => u.header.round === 2);
    expect(late.map((u) => u.outcome)).toEqual(['grpc-14', 'accepted']);
    expect(late[0]!.sha256).toBe(late[1]!.sha256);
    expect(late[0]!.header.submissionId).toBe(late[1]!.header.submissionId);
    expect(trainMetricsOf(jobId).map((m) => m.round)).toEqual([2]);
  });

  it('learns after a lost acknowledgement that the late update counted: the same bytes to the same round, then the metrics there', async () => {
    const s = await site();
    const jobId = 'job-late-lost-ack';
    const spec = jobSpec({ dp: DP, strategy: { name: 'fedavg', closeAfter: 1 } });
    refuse(jobId, { 1: closed(2) });
    // The coordinator stores the late update; its answer never arrives.
    const losing = Object.assign(Object.create(client) as CoordinatorClient, {
      submitUpdate: async (header: Parameters<CoordinatorClient['submitUpdate']>[0], payload: Uint8Array) => {
        const receipt = await client.submitUpdate(header, payload);
        if (header.round === 2) throw new CoordinatorError('COORDINATOR_UNAVAILABLE', 'Connection dropped', grpc.status.UNAVAILABLE);
        return receipt;
      },
    });
    await expect(runTrainTask(s.context(trainTask({ jobId, round: 1, spec, model: fake.addModel('lost-ack-m0', new Float32Array(6).fill(0.03)) }), { client: losing })))
      .rejects.toMatchObject({ code: 'COORDINATOR_UNAVAILABLE' });
    expect(trainMetricsOf(jobId)).toEqual([]);
    // The task is not handed out again (its round closed): the next start asks after it.
    expect(await sendPendingTrainReports(s.stateDir, client, 'site-a', s.log)).toBe(1);
    const uploads = uploadsOf(jobId);
    expect(uploads.map((u) => [u.header.round, u.header.baseRound, u.header.submissionId, u.outcome])).toEqual([
      [1, 0, `${jobId}:1:site-a`, 'ROUND_CLOSED'],
      [2, 1, `${jobId}:1:site-a:late2`, 'accepted'],
      [2, 1, `${jobId}:1:site-a:late2`, 'acknowledged'],
    ]);
    expect(uploads[2]!.sha256).toBe(uploads[1]!.sha256);
    expect(trainMetricsOf(jobId).map((m) => m.round)).toEqual([2]);
    expect(await s.ledgerEntries()).toHaveLength(1);
  });

  it('drops an update staler than maxStaleness: a warning, no failure, no second charge, never sent again', async () => {
    const s = await site();
    const jobId = 'job-late-stale';
    const spec = jobSpec({ dp: DP, strategy: { name: 'fedavg', closeAfter: 1, maxStaleness: 1 } });
    const task = trainTask({ jobId, round: 1, spec, model: fake.addModel('late-stale-m0', new Float32Array(6).fill(0.02)) });
    refuse(jobId, { 1: closed(3) });
    await expect(runTrainTask(s.context(task))).resolves.toBeUndefined();

    expect(uploadsOf(jobId).map((u) => [u.header.round, u.outcome])).toEqual([[1, 'ROUND_CLOSED']]);
    expect(s.messages('late update dropped')).toEqual([expect.objectContaining({
      level: LEVEL.warn, job: jobId, round: 1, staleness: 2, reason: "staleness 2 exceeds the job's maxStaleness 1",
    })]);
    expect(await s.ledgerEntries()).toHaveLength(1);
    expect(await s.journal(jobId, 1)).toMatchObject({ dropped: true, trainReported: true });
    // The charge still reaches the coordinator's audit trail, under the round it was computed for.
    expect(trainMetricsOf(jobId).map((m) => [m.round, m.privacySpend !== undefined])).toEqual([[1, true]]);

    // Handed out again (it would not be, its round closed): nothing is trained, charged or sent.
    await runTrainTask(s.context(task));
    expect(uploadsOf(jobId)).toHaveLength(1);
    expect(await s.ledgerEntries()).toHaveLength(1);
  });

  it('drops the update when no training round opens after asking again (no trailer), and leaves jobs with synchronous rounds as they were', async () => {
    const s = await site();
    const jobId = 'job-late-none-open';
    const spec = jobSpec({ strategy: { name: 'fedavg', closeAfter: 1 } });
    refuse(jobId, { 3: closed() });
    await runTrainTask(s.context(trainTask({ jobId, round: 3, spec, model: fake.addModel('late-none-m2', new Float32Array(6)) })));
    expect(s.messages('late update dropped')).toEqual([expect.objectContaining({ job: jobId, round: 3, staleness: null, reason: 'no training round is open' })]);
    expect(uploadsOf(jobId)).toHaveLength(5); // the first upload and four asks

    // Synchronous rounds: ROUND_CLOSED fails the task, trailer or not.
    const syncJob = 'job-sync-closed';
    refuse(syncJob, { 1: closed(2) });
    await expect(runTrainTask(s.context(trainTask({ jobId: syncJob, round: 1, spec: jobSpec(), model: fake.addModel('sync-m0', new Float32Array(6)) }))))
      .rejects.toMatchObject({ code: 'ROUND_CLOSED', openRound: 2 });
    expect(uploadsOf(syncJob).map((u) => u.header.round)).toEqual([1]);
  });

  it('asks again when no round is open yet (the closed round still aggregating), and sends the update to the round that opens', async () => {
    const s = await site();
    const jobId = 'job-late-between-rounds';
    const spec = jobSpec({ strategy: { name: 'fedavg', closeAfter: 1, maxStaleness: 2 } });
    let refusalsOfRound3 = 0;
    fake.fault = (method, req) => {
      if (method !== 'submitUpdate' || (req as UpdateHeader).jobId !== jobId) return undefined;
      if ((req as UpdateHeader).round !== 3) return undefined;
      refusalsOfRound3++;
      return refusalsOfRound3 === 1 ? closed() : closed(4);
    };
    await runTrainTask(s.context(trainTask({ jobId, round: 3, spec, model: fake.addModel('late-between-m2', new Float32Array(6)) })));
    expect(uploadsOf(jobId).map((u) => [u.header.round, u.header.baseRound, u.outcome])).toEqual([
      [3, 0, 'ROUND_CLOSED'], [3, 0, 'ROUND_CLOSED'], [4, 3, 'accepted'],
    ]);
    expect(s.messages('late update dropped')).toEqual([]);
    expect(trainMetricsOf(jobId).map((m) => m.round)).toEqual([4]);
  });

  it("drops a late update the coordinator refuses as too stale (its count of rounds has the last word)", async () => {
    const s = await site();
    const jobId = 'job-late-refused-stale';
    const spec = jobSpec({ strategy: { name: 'fedavg', closeAfter: 1, maxStaleness: 3 } });
    refuse(jobId, { 1: closed(2), 2: { status: FAILED_PRECONDITION, code: 'UPDATE_TOO_STALE', message: 'staleness 1 exceeds maxStaleness 0' } });
    await expect(runTrainTask(s.context(trainTask({ jobId, round: 1, spec, model: fake.addModel('late-refused-m0', new Float32Array(6)) })))).resolves.toBeUndefined();
    expect(uploadsOf(jobId).map((u) => [u.header.round, u.outcome])).toEqual([[1, 'ROUND_CLOSED'], [2, 'UPDATE_TOO_STALE']]);
    expect(s.messages('late update dropped')).toEqual([expect.objectContaining({
      job: jobId, round: 1, staleness: 1, reason: 'the coordinator refused it as too stale: staleness 1 exceeds maxStaleness 0',
    })]);
    expect(await s.journal(jobId, 1)).toMatchObject({ dropped: true, upload: { late: { round: 2, staleness: 1 } } });
  });

  describe('an encrypted job', () => {
    const SITES = ['site-a', 'site-b', 'site-c'];
    const WEIGHT = 0.2;
    const spec = jobSpec({
      name: 'late-encrypted', sites: SITES, minSites: 3, strategy: { name: 'fedavg', closeAfter: 3, maxStaleness: 4 },
      encryption: { enabled: true, paramSet: PARAM_SET, clipNorm: 1, fracBits: FRAC_BITS },
    });
    const P = parameterCount(spec.features.length, spec.model.hidden, spec.classes.length);
    let he: HeContext;
    let key: HeSecretKey;

    beforeAll(async () => {
      he = await heContext(PARAM_SET);
      key = generateKeys(he);
    });
    afterAll(() => key?.dispose());

    function encryptedTask(jobId: string): Task {
      const initial = fake.addModel(`${jobId}-m0`, Float32Array.from({ length: P }, (_, i) => Math.sin(i + 1) / 4));
      const settings = { paramSet: PARAM_SET, keyId: key.keyId, epoch: 1, clipNorm: 1, fracBits: FRAC_BITS, maxSites: SITES.length, weight: WEIGHT };
      const chain = [{ modelId: initial.modelId, round: 0, sha256: initial.modelSha256, kind: 'weights', totalWeight: null, contributors: null }];
      return { ...trainTask({ jobId, round: 1, spec, model: initial }), encryptionJson: JSON.stringify(settings), modelChainJson: JSON.stringify(chain), updateLength: P };
    }

    /** A site holding the job's key in its key file, as after the key ceremony. */
    async function keyHolder(jobId: string) {
      const s = await site();
      await mkdir(join(s.stateDir, 'he-keys'), { recursive: true, mode: 0o700 });
      await writeKeyFile(join(s.stateDir, 'he-keys', `${jobId}-e1.key`), { job: jobId, epoch: 1, siteId: 'site-a', paramSetId: PARAM_SET, keyId: key.keyId, secretKey: key.export() });
      return { ...s, keyStore: new JobKeyStore(s.stateDir, 'site-a', await ensureSiteKeys(s.stateDir)) };
    }

    /** One site's update as a sum of one: decrypting checks its encrypted weight against `weight`. */
    function decryptOne(bytes: Buffer, weight: number): Float64Array {
      const vector = decodeEncryptedVector(he, bytes);
      const acc = EncryptedAccumulator.create(he, vector.header);
      try {
        acc.addVector('site-a', vector);
        return decryptAggregate(he, key, acc.finish({ minContributors: 1 }), { totalWeight: weight, minContributors: 1 });
      } finally {
        acc.dispose();
      }
    }

    it('encrypts the late update again under the staleness-discounted weight, and a resend reuses the journaled bytes', async () => {
      const jobId = 'job-late-encrypted';
      const s = await keyHolder(jobId);
      const task = encryptedTask(jobId);
      refuse(jobId, { 1: closed(2) });
      // The agent stops right after the late bytes were journaled, before they leave.
      let attests = 0;
      const stopping: Attester = { ...attester, attest: (statement) => (++attests === 2 ? Promise.reject(new Error('agent killed')) : attester.attest(statement)) };
      await expect(runTrainTask(s.context(task, { keyStore: s.keyStore, attester: stopping }))).rejects.toThrow('agent killed');
      const journaledLate = await s.journal(jobId, 1);
      expect(journaledLate.upload?.late).toEqual({ round: 2, staleness: 1 });

      // Run again (a fresh context: no delta in memory): the journaled late bytes go to round 2; round 1 is not tried again.
      await runTrainTask(s.context(task, { keyStore: s.keyStore }));
      const uploads = uploadsOf(jobId);
      expect(uploads.map((u) => [u.header.round, u.header.baseRound, u.outcome])).toEqual([[1, 0, 'ROUND_CLOSED'], [2, 1, 'accepted']]);
      const [fresh, late] = uploads as [typeof uploads[0], typeof uploads[0]];
      expect(late.sha256).toBe(journaledLate.upload!.sha256);
      expect(late.sha256).not.toBe(fresh.sha256);

      // The late bytes carry weight stalenessWeight(0.2, 1) = 0.2 / sqrt(2) in their check slot, over the same clipped delta.
      const discounted = stalenessWeight(WEIGHT, 1);
      const values = decryptOne(late.payload, discounted);
      const original = decryptOne(fresh.payload, WEIGHT);
      expect(values).toHaveLength(P);
      expect(original.some((v) => Math.abs(v) > 1e-3)).toBe(true);
      // Each decryption is within half a quantum over the weight of the value it encodes.
      const bound = 2 ** -(FRAC_BITS + 1) / discounted + 2 ** -(FRAC_BITS + 1) / WEIGHT;
      values.forEach((v, i) => expect(Math.abs(v - original[i]!)).toBeLessThanOrEqual(bound));
      expect(() => decryptOne(late.payload, WEIGHT)).toThrow(expect.objectContaining({ code: 'HE_AGGREGATE_INCONSISTENT' }));
      expect(trainMetricsOf(jobId).map((m) => m.round)).toEqual([2]);
    });

    it('drops an encrypted late update whose delta is no longer in memory', async () => {
      const jobId = 'job-late-encrypted-restart';
      const s = await keyHolder(jobId);
      const task = encryptedTask(jobId);
      // The fresh upload's acknowledgement is lost; when the task comes back its round has closed.
      refuse(jobId, { 1: { status: grpc.status.UNAVAILABLE, message: 'Connection dropped' } });
      await expect(runTrainTask(s.context(task, { keyStore: s.keyStore }))).rejects.toMatchObject({ code: 'COORDINATOR_UNAVAILABLE' });
      refuse(jobId, { 1: closed(2) });
      // A restarted agent: the journal holds the encrypted bytes, no process holds the delta they were made from.
      await runTrainTask(s.context(task, { keyStore: s.keyStore }));
      expect(s.messages('late update dropped')).toEqual([expect.objectContaining({
        job: jobId, round: 1, staleness: 1, reason: 'the trained update is no longer in memory (the agent restarted since training)',
      })]);
      expect(uploadsOf(jobId).map((u) => u.header.round)).toEqual([1, 1]);
    });
  });
});
