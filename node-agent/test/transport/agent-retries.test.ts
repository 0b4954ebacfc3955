import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { Task } from '@medfed/proto';
import { PrivacyLedger } from '../../src/privacy/ledger/index.js';
import { AgentStopError } from '../../src/transport/retry-policy.js';
import { startAgent, until, type RunningAgent } from '../support/agent-harness.js';
import { FakeCoordinator, jobSpec, trainTask, type Failure } from '../support/fake-coordinator.js';
import { LEVEL } from '../support/memory-log.js';

const RESOURCE_EXHAUSTED = 8;
const UNAVAILABLE = 14;

describe('the agent as a daemon: what it retries, for how long, what it logs, and when it stops', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function coordinator(): Promise<FakeCoordinator> {
    const fake = await FakeCoordinator.start();
    cleanup.push(() => fake.close());
    return fake;
  }
  async function agentOn(address: string, options: Parameters<typeof startAgent>[1] = {}): Promise<RunningAgent> {
    const a = await startAgent(address, options);
    cleanup.push(() => a.stop());
    return a;
  }

  /** Hands out each task until the agent reports it failed or its train metrics arrived (as the coordinator would). */
  function serve(fake: FakeCoordinator, tasks: Task[]): void {
    const done = (t: Task) => fake.heartbeats.some((h) => h.jobId === t.jobId && h.state === 'failed')
      || fake.metrics.some((m) => m.jobId === t.jobId && m.phase === 'train')
      || Date.now() >= t.deadlineMs;
    fake.task = () => tasks.find((t) => !done(t));
  }

  it('retries STORAGE_FULL but not UPDATE_TOO_LARGE or PRIVACY_BUDGET_EXCEEDED, though all three are RESOURCE_EXHAUSTED', async () => {
    const fake = await coordinator();
    const model = fake.addModel('m0', new Float32Array(6));
    const tasks = ['job-too-large', 'job-budget', 'job-storage-full'].map((jobId) => trainTask({ jobId, round: 1, spec: jobSpec(), model }));
    let storageFull = 2;
    fake.fault = (method, req) => {
      const job = (req as { jobId?: string } | undefined)?.jobId;
      if (method !== 'submitUpdate') return undefined;
      if (job === 'job-too-large') return { status: RESOURCE_EXHAUSTED, code: 'UPDATE_TOO_LARGE' };
      if (job === 'job-budget') return { status: RESOURCE_EXHAUSTED, code: 'PRIVACY_BUDGET_EXCEEDED' };
      if (job === 'job-storage-full' && storageFull-- > 0) return { status: RESOURCE_EXHAUSTED, code: 'STORAGE_FULL' };
      return undefined;
    };
    serve(fake, tasks);
    const a = await agentOn(fake.address);
    await until('the storage-full job to go through', () => a.log.messages('update submitted').find((l) => l.job === 'job-storage-full'), 60_000);

    const uploads = (job: string) => fake.uploads.filter((u) => u.header.jobId === job);
    expect(uploads('job-too-large').map((u) => u.outcome)).toEqual(['UPDATE_TOO_LARGE']);
    expect(uploads('job-budget').map((u) => u.outcome)).toEqual(['PRIVACY_BUDGET_EXCEEDED']);
    expect(uploads('job-storage-full').map((u) => u.outcome)).toEqual(['STORAGE_FULL', 'STORAGE_FULL', 'accepted']);
    expect(new Set(uploads('job-storage-full').map((u) => u.sha256)).size).toBe(1);
    const failed = fake.heartbeats.filter((h) => h.state === 'failed').map((h) => `${h.jobId} ${h.detail.split(':')[0]}`);
    expect(failed).toEqual(['job-too-large UPDATE_TOO_LARGE', 'job-budget PRIVACY_BUDGET_EXCEEDED']);
    // Two failures in a row are one state change each way, not a line per retry.
    expect(a.log.messages('coordinator unavailable (STORAGE_FULL); retrying with backoff')).toHaveLength(1);
    await until('the recovery line', () => a.log.messages(/^coordinator reachable again/)[0]);
    expect(a.log.messages(/^coordinator reachable again after \d+\.\d s \(3 attempts\)$/)).toHaveLength(1);
    expect(a.log.messages('task resumed from journal').filter((l) => l.job === 'job-storage-full').map((l) => l.what)).toEqual(['upload', 'upload']);
    expect(a.settled()).toBe(false);
  });

  it('backs off until the task deadline, then drops the task and goes back to polling', async () => {
    const fake = await coordinator();
    const model = fake.addModel('m0', new Float32Array(6));
    const spec = jobSpec({ dp: { noiseMultiplier: 1.5, clipNorm: 1, sampleRate: 0.25, delta: 1e-5 } });
    const task = trainTask({ jobId: 'job-deadline', round: 1, spec, model, deadlineMs: Date.now() + 120_000 });
    // The deadline comes 2.5 s after the first upload arrives (as a coordinator may move it; the agent
    // goes by the latest task it polled), so that a slow first training run cannot eat it.
    fake.fault = (method) => {
      if (method !== 'submitUpdate') return undefined;
      if (fake.uploads.length === 0) task.deadlineMs = Date.now() + 2_500;
      return { status: RESOURCE_EXHAUSTED, code: 'STORAGE_FULL' };
    };
    serve(fake, [task]);
    const a = await agentOn(fake.address);
    // Dropped when the next wait would end past the deadline, or (the poll itself ran late) when the
    // coordinator no longer hands the task out.
    const dropped = await until('the task to be dropped', () => a.log.messages(/^task dropped: its deadline pass/)[0], 60_000);
    expect(Date.now()).toBeGreaterThanOrEqual(task.deadlineMs - 250);
    expect(dropped).toMatchObject({ job: 'job-deadline', level: LEVEL.warn });
    expect(a.log.messages(/^task dropped/)).toHaveLength(1);

    // Task uploads name their base model; after an outage the agent may also send the stored bytes once
    // without one, only to learn whether an earlier attempt was accepted (round-reports.ts): not a retry.
    const taskUploads = () => fake.uploads.filter((u) => u.header.baseModelId !== '').length;
    const attempts = taskUploads();
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(new Set(fake.uploads.map((u) => u.sha256)).size).toBe(1); // trained once, the same bytes every time
    expect((await new PrivacyLedger({ stateDir: a.stateDir, dataset: 'cohort' }).read()).entries).toHaveLength(1);
    expect(fake.heartbeats.some((h) => h.state === 'failed' && h.detail.includes('gave up at the task deadline'))).toBe(true);
    const polls = fake.count('pollTask');
    await sleep(800);
    expect(taskUploads()).toBe(attempts); // no retry after the deadline
    expect(fake.count('pollTask')).toBeGreaterThan(polls); // still polling for the next task
    expect(a.settled()).toBe(false);
    expect(a.log.messages('coordinator unavailable (STORAGE_FULL); retrying with backoff')).toHaveLength(1);
  });

  it('logs one line when the coordinator becomes unavailable and one when it is reachable again, whatever the number of retries', async () => {
    const fake = await coordinator();
    let failing = 6;
    fake.fault = (method) => (method === 'pollTask' && failing-- > 0 ? { status: UNAVAILABLE, code: 'DATABASE_UNAVAILABLE' } : undefined);
    const a = await agentOn(fake.address);
    const back = await until('the recovery line', () => a.log.messages(/^coordinator reachable again/)[0]);
    expect(back.msg).toMatch(/^coordinator reachable again after \d+\.\d s \(7 attempts\)$/);
    expect(back.level).toBe(LEVEL.info);
    const warnings = a.log.lines.filter((l) => l.level >= LEVEL.warn && !/UNSANDBOXED|unsandboxed|approved automatically|development/.test(l.msg));
    expect(warnings.map((l) => l.msg)).toEqual(['coordinator unavailable (DATABASE_UNAVAILABLE); retrying with backoff']);
    expect(a.log.messages('coordinator call failed again; retrying with backoff').every((l) => l.level === LEVEL.debug)).toBe(true);
    expect(a.log.messages('coordinator call failed again; retrying with backoff')).toHaveLength(5);
    expect(a.settled()).toBe(false);
  });

  it('keeps polling through errors it does not know (no medfed code), with one error line', async () => {
    const fake = await coordinator();
    let failing = 3;
    fake.fault = (method) => (method === 'pollTask' && failing-- > 0 ? { status: 13, message: 'upstream connect error' } : undefined);
    const a = await agentOn(fake.address);
    await until('the recovery line', () => a.log.messages(/^coordinator reachable again/)[0]);
    expect(a.log.lines.filter((l) => l.level >= LEVEL.error).map((l) => l.msg)).toEqual(['coordinator call failed (GRPC_ERROR: upstream connect error); retrying with backoff']);
    expect(a.settled()).toBe(false);
  });

  it.each<[string, Failure, RegExp]>([
    ['its key was revoked', { status: 16, code: 'AUTH_KEY_REVOKED', message: 'the key is no longer the site key' }, /re-enroll this site with a new code/],
    ['the site was suspended', { status: 7, code: 'AUTH_SITE_SUSPENDED', message: 'site site-a is suspended' }, /ask them to reinstate it/],
    ['the site is unknown', { status: 5, code: 'UNKNOWN_SITE', message: 'no site site-a' }, /register the site/],
  ])('stops with a one-line message saying what to do when %s', async (_, failure, todo) => {
    const fake = await coordinator();
    fake.fault = (method) => (method === 'pollTask' ? failure : undefined);
    const a = await agentOn(fake.address);
    const outcome = await a.outcome;
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: Error & { code?: string } }).error;
    expect(error).toBeInstanceOf(AgentStopError);
    expect(error.code).toBe(failure.code);
    expect(error.message).toMatch(todo);
    expect(error.message).not.toContain('\n');
    const fatal = a.log.lines.filter((l) => l.level === LEVEL.fatal);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]!.msg).toBe(`${failure.code}: ${error.message}`);
    expect(error.message).toContain('The agent stopped: ');
    expect(fake.count('pollTask')).toBe(1);
  });

  it('follows a NOT_LEADER hint to the leader replica it lists, and otherwise stays on its address', async () => {
    const follower = await coordinator();
    const leader = await coordinator();
    follower.fault = (method) => (method === 'pollTask' ? { status: UNAVAILABLE, code: 'NOT_LEADER', leader: leader.address } : undefined);
    const a = await agentOn(follower.address, { replicas: [follower.address, leader.address] });
    await until('polls at the leader', () => leader.count('pollTask') >= 3);
    expect(follower.count('pollTask')).toBe(1);
    expect(a.log.messages(`switching to coordinator replica ${leader.address} (NOT_LEADER)`)).toHaveLength(1);

    // Without replicas configured (a Service routes to the leader), the hint is not followed.
    await a.agent.stop();
    const polls = leader.count('pollTask');
    const unlisted = await coordinator();
    unlisted.fault = (method) => (method === 'pollTask' ? { status: UNAVAILABLE, code: 'NOT_LEADER', leader: leader.address } : undefined);
    const b = await agentOn(unlisted.address);
    await until('retries at its own address', () => unlisted.count('pollTask') >= 3);
    expect(b.log.messages(/^switching to coordinator replica/)).toHaveLength(0);
    expect(b.log.messages('coordinator unavailable (NOT_LEADER); retrying with backoff')).toHaveLength(1);
    expect(leader.count('pollTask')).toBe(polls);
  });

  it('retries the train metrics in place once the update is accepted (the task is not handed out again)', async () => {
    const fake = await coordinator();
    const model = fake.addModel('m0', new Float32Array(6));
    const task = trainTask({ jobId: 'job-metrics', round: 1, spec: jobSpec(), model });
    let failing = 2;
    fake.fault = (method, req) => ((method === 'reportMetrics' && (req as { phase: string }).phase === 'train' && failing-- > 0)
      ? { status: UNAVAILABLE, code: 'DATABASE_UNAVAILABLE' } : undefined);
    // The coordinator stops handing the task out as soon as the update is accepted.
    fake.task = () => (fake.uploads.some((u) => u.outcome === 'accepted') ? undefined : task);
    const a = await agentOn(fake.address);
    await until('the train metrics', () => fake.metrics.find((m) => m.jobId === 'job-metrics' && m.phase === 'train'));
    expect(fake.uploads.map((u) => u.outcome)).toEqual(['accepted']);
    expect(a.log.messages('coordinator unavailable (DATABASE_UNAVAILABLE); retrying with backoff')).toHaveLength(1);
    await until('the recovery line', () => a.log.messages(/^coordinator reachable again after \d+\.\d s \(3 attempts\)$/)[0]);
  });
});
