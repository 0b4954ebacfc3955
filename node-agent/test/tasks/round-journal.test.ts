import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createSoftwareAttester, generateAttestationKey, type Attester } from '@medfed/proto/attestation/index';
import type { JobSpec, Task } from '@medfed/proto';
import { loadDataset, type LocalDataset } from '../../src/data/index.js';
import { PrivacyLedger } from '../../src/privacy/ledger/index.js';
import { createTrainerSandbox, type TrainerSandbox } from '../../src/sandbox/index.js';
import { runEvaluateTask, runTrainTask } from '../../src/tasks/model-task.js';
import { RoundJournal } from '../../src/tasks/round-journal.js';
import { sendPendingTrainReports } from '../../src/tasks/round-reports.js';
import { parseTaskSpec, type TaskContext } from '../../src/tasks/task-context.js';
import { CoordinatorClient } from '../../src/transport/client.js';
import { FakeCoordinator, jobSpec, siteCsv, trainTask } from '../support/fake-coordinator.js';
import { memoryLog } from '../support/memory-log.js';

const DP: JobSpec['dp'] = { noiseMultiplier: 1.5, clipNorm: 1, sampleRate: 0.25, delta: 1e-5 };
const spec = jobSpec({ dp: DP });

describe('the round journal: a retried or re-run round is never retrained or charged twice', () => {
  let fake: FakeCoordinator;
  let client: CoordinatorClient;
  let dataset: LocalDataset;
  let sandbox: TrainerSandbox;
  let attester: Attester;
  const dirs: string[] = [];
  const modelA = () => fake.addModel('model-a', Float32Array.from([0.1, -0.2, 0.05, 0.3, 0, 0.01]));
  const modelB = () => fake.addModel('model-b', Float32Array.from([0.2, 0.1, -0.05, 0.1, 0.02, 0]));

  beforeAll(async () => {
    fake = await FakeCoordinator.start();
    client = new CoordinatorClient(fake.address);
    const dir = await mkdtemp(join(tmpdir(), 'medfed-journal-data-'));
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
    const stateDir = await mkdtemp(join(tmpdir(), 'medfed-journal-'));
    dirs.push(stateDir);
    const logged = memoryLog();
    /** The same round handed out again by a fresh poll: a new attestation nonce each time. */
    const context = (task: Task, overrides: Partial<TaskContext> = {}): TaskContext => ({
      client, siteId: 'site-a', dataset, log: logged.log, task: { ...task, attestationNonce: randomBytes(32).toString('base64url') },
      ...parseTaskSpec(task), stateDir, keyStore: null as never, sandbox, attester,
      privacy: { dataset: 'cohort', budgetEpsilon: 50, budgetDelta: 1e-4 },
      fetchWrappedKey: () => Promise.reject(new Error('plaintext job')),
      ...overrides,
    });
    const ledgerEntries = async () => (await new PrivacyLedger({ stateDir, dataset: 'cohort' }).read()).entries;
    return { stateDir, ...logged, context, ledgerEntries };
  }

  const uploadsOf = (jobId: string) => fake.uploads.filter((u) => u.header.jobId === jobId);
  const noncesIn = (attestation: string) => Buffer.from(attestation.split('.')[1]!, 'base64url').toString('utf8');

  it('re-sends the journaled bytes after an agent crash and after a coordinator crash: one charge, byte-identical uploads', async () => {
    const s = await site();
    const task = trainTask({ jobId: 'job-crash-upload', round: 1, spec, model: modelA() });
    // 1. The agent "crashes" right after the update bytes were journaled, before anything is sent.
    const crashing: Attester = { ...attester, attest: () => Promise.reject(new Error('agent killed')) };
    await expect(runTrainTask(s.context(task, { attester: crashing }))).rejects.toThrow('agent killed');
    expect(uploadsOf(task.jobId)).toHaveLength(0);
    // 2. The coordinator receives the whole update and dies before answering.
    let coordinatorCrashes = 1;
    fake.fault = (method) => (method === 'submitUpdate' && coordinatorCrashes-- > 0 ? { status: 14, message: 'Connection dropped' } : undefined);
    await expect(runTrainTask(s.context(task))).rejects.toMatchObject({ code: 'COORDINATOR_UNAVAILABLE' });
    // 3. The retry goes through.
    const third = s.context(task);
    await runTrainTask(third);
    fake.fault = () => undefined;

    const uploads = uploadsOf(task.jobId);
    expect(uploads.map((u) => u.outcome)).toEqual(['grpc-14', 'accepted']);
    expect(uploads[1]!.sha256).toBe(uploads[0]!.sha256);
    expect(uploads[1]!.payload.equals(uploads[0]!.payload)).toBe(true);
    // A fresh attestation over the same bytes, under the latest task's nonce.
    expect(noncesIn(uploads[1]!.header.attestation)).toContain(third.task.attestationNonce);
    expect(uploads[1]!.header.attestation).not.toBe(uploads[0]!.header.attestation);
    // The ledger was charged once; the charge line is logged once.
    expect(await s.ledgerEntries()).toHaveLength(1);
    expect(s.messages('privacy budget charged for this round (DP-SGD)')).toHaveLength(1);
    expect(s.messages('task resumed from journal').map((l) => l.what)).toEqual(['upload', 'upload']);
    expect(s.messages('upload started').map((l) => l.bytes)).toEqual([uploads[0]!.payload.byteLength, uploads[0]!.payload.byteLength]);
    // Eval metrics sent three times, identical (acknowledged); train metrics once, with the one charge.
    const reports = fake.metrics.filter((m) => m.jobId === task.jobId);
    expect(reports.map((m) => m.phase)).toEqual(['eval', 'eval', 'eval', 'train']);
    expect(new Set(reports.filter((m) => m.phase === 'eval').map((m) => JSON.stringify(m))).size).toBe(1);
    expect(reports[3]!.privacySpend!.epsilon).toBeCloseTo((await s.ledgerEntries())[0]!.epsilon, 9);
    expect(s.messages('update submitted')).toHaveLength(1);
  });

  it('charges once when the agent crashes after the charge but before training, even if the journal record is lost', async () => {
    const s = await site();
    const task = trainTask({ jobId: 'job-crash-train', round: 1, spec, model: modelA() });
    const crashingSandbox: TrainerSandbox = { ...sandbox, train: () => Promise.reject(new Error('agent killed during training')) };
    await expect(runTrainTask(s.context(task, { sandbox: crashingSandbox }))).rejects.toThrow('agent killed during training');
    expect(await s.ledgerEntries()).toHaveLength(1);
    await expect(runTrainTask(s.context(task, { sandbox: crashingSandbox }))).rejects.toThrow('agent killed during training');
    expect(await s.ledgerEntries()).toHaveLength(1);
    // The charge and the seed were journaled in one record, before training.
    const journal = new RoundJournal(s.stateDir);
    const afterCharge = await journal.read(task.jobId, 1);
    expect(afterCharge.state === 'found' && afterCharge.record.training?.seed).toEqual(expect.any(Number));

    // This time the journal record written after the charge is lost as well (a crash between the two).
    await rm(journal.paths(task.jobId, 1).record);
    await runTrainTask(s.context(task));

    const entries = await s.ledgerEntries();
    expect(entries).toHaveLength(1);
    expect(entries[0]!.id).toMatch(/^training:job-crash-train:1:0:[0-9a-f]{64}$/);
    expect(s.messages('privacy budget charged for this round (DP-SGD)')).toHaveLength(1);
    expect(s.messages('privacy budget already charged for this round; not charged again')).toHaveLength(1);
    expect(uploadsOf(task.jobId).map((u) => u.outcome)).toEqual(['accepted']);
    const train = fake.metrics.filter((m) => m.jobId === task.jobId && m.phase === 'train');
    expect(train).toHaveLength(1);
    // The re-run reports the same charge figures the first charge had.
    expect(train[0]!.privacySpend!.epsilon).toBeCloseTo(entries[0]!.epsilon, 9);
  });

  it('trains and charges again, with a warning, when the round restarted from another input model', async () => {
    const s = await site();
    const first = trainTask({ jobId: 'job-restart', round: 1, spec, model: modelA() });
    await runTrainTask(s.context(first));
    fake.resetRound('job-restart', 1);
    const restarted = trainTask({ jobId: 'job-restart', round: 1, spec, model: modelB() });
    await runTrainTask(s.context(restarted));

    const warnings = s.messages(/^round input changed since this site trained it/);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toContain('charging the privacy budget again');
    expect(warnings[0]!.level).toBe(40);
    const entries = await s.ledgerEntries();
    expect(entries).toHaveLength(2);
    // One ledger entry per round input: the id names the key epoch (0: plaintext) and the input model's digest.
    expect(entries.map((e) => e.id)).toEqual([`training:job-restart:1:0:${first.modelSha256}`, `training:job-restart:1:0:${restarted.modelSha256}`]);
    expect(s.messages('privacy budget charged for this round (DP-SGD)')).toHaveLength(2);
    expect(s.messages('task resumed from journal')).toHaveLength(0);
    const uploads = uploadsOf('job-restart');
    expect(uploads.map((u) => u.outcome)).toEqual(['accepted', 'accepted']);
    expect(uploads[1]!.header.baseModelId).toBe('model-b');
  });

  it('keeps the journal private: 0700 directories, 0600 files holding the exact upload bytes and no records', async () => {
    const s = await site();
    const task = trainTask({ jobId: 'job-private', round: 2, spec, model: modelA() });
    await runTrainTask(s.context(task));
    const journal = new RoundJournal(s.stateDir);
    const paths = journal.paths(task.jobId, 2);
    expect((await stat(journal.root)).mode & 0o777).toBe(0o700);
    expect((await stat(paths.dir)).mode & 0o777).toBe(0o700);
    for (const file of [paths.record, paths.update]) expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readFile(paths.update)).equals(uploadsOf(task.jobId)[0]!.payload)).toBe(true);
    expect(await readdir(paths.dir)).toEqual(['round-2.json', 'round-2.update']);
    const record = await readFile(paths.record, 'utf8');
    expect(record).not.toMatch(/MRN-/);
    expect(JSON.parse(record)).toMatchObject({ accepted: uploadsOf(task.jobId)[0]!.sha256, trainReported: true });
  });

  it('sends the train metrics a crash left unsent once the update was accepted, at the next start, once', async () => {
    const s = await site();
    const task = trainTask({ jobId: 'job-unsent', round: 1, spec, model: modelA() });
    // The update is accepted; the coordinator goes away before the train metrics, and the agent stops.
    fake.fault = (method, req) => (method === 'reportMetrics' && (req as { phase: string }).phase === 'train' ? { status: 14 } : undefined);
    await expect(runTrainTask(s.context(task))).rejects.toMatchObject({ code: 'COORDINATOR_UNAVAILABLE' });
    expect(fake.metrics.filter((m) => m.jobId === task.jobId && m.phase === 'train')).toHaveLength(0);
    // Still down at the next start: thrown for the caller to retry, nothing marked as sent.
    await expect(sendPendingTrainReports(s.stateDir, client, 'site-a', s.log)).rejects.toMatchObject({ code: 'COORDINATOR_UNAVAILABLE' });
    fake.fault = () => undefined;
    expect(await sendPendingTrainReports(s.stateDir, client, 'site-a', s.log)).toBe(1);
    expect(await sendPendingTrainReports(s.stateDir, client, 'site-a', s.log)).toBe(0);
    const train = fake.metrics.filter((m) => m.jobId === task.jobId && m.phase === 'train');
    expect(train).toHaveLength(1);
    expect(train[0]!.privacySpend!.epsilon).toBeCloseTo((await s.ledgerEntries())[0]!.epsilon, 9);
    expect(fake.uploads.filter((u) => u.header.jobId === task.jobId).map((u) => u.outcome)).toEqual(['accepted']);
  });

  it('re-sends an evaluation from the journal, identical, instead of recomputing it', async () => {
    const s = await site();
    const task = trainTask({ jobId: 'job-eval', round: 2, spec: jobSpec(), model: modelA() });
    let refuse = 1;
    fake.fault = (method) => (method === 'reportMetrics' && refuse-- > 0 ? { status: 14, code: 'DATABASE_UNAVAILABLE' } : undefined);
    await expect(runEvaluateTask(s.context(task))).rejects.toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    fake.fault = () => undefined;
    await runEvaluateTask(s.context(task));
    await runEvaluateTask(s.context(task)); // the coordinator lost the answer; an identical repeat is acknowledged
    expect(s.messages('task resumed from journal').map((l) => l.what)).toEqual(['metrics', 'metrics']);
    expect(s.messages('evaluation reported')).toHaveLength(2);
    expect(fake.metrics.filter((m) => m.jobId === 'job-eval')).toHaveLength(2);
  });
});
