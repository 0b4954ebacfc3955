import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { UpdateHeader } from '@medfed/proto';
import { PrivacyLedger } from '../../src/privacy/ledger/index.js';
import { startAgent, until, type RunningAgent } from '../support/agent-harness.js';
import { FakeCoordinator, jobSpec, trainTask } from '../support/fake-coordinator.js';
import { LEVEL } from '../support/memory-log.js';

describe('the agent on a semi-asynchronous job, slowed down for a simulation', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('waits after training as configured, drops a too-stale update with a warning and reports no failure', async () => {
    const fake = await FakeCoordinator.start();
    cleanup.push(() => fake.close());
    const spec = jobSpec({ dp: { noiseMultiplier: 1.5, clipNorm: 1, sampleRate: 0.25, delta: 1e-5 }, strategy: { name: 'fedavg', closeAfter: 1, maxStaleness: 0 } });
    const task = trainTask({ jobId: 'job-slow-site', round: 1, spec, model: fake.addModel('m0', new Float32Array(6)) });
    // The round closes while the slow site trains: the coordinator names round 2 open, one round too stale here.
    fake.fault = (method, req) => (method === 'submitUpdate' && (req as UpdateHeader).round === 1
      ? { status: grpc.status.FAILED_PRECONDITION, code: 'ROUND_CLOSED', openRound: 2 } : undefined);
    fake.task = () => (fake.uploads.length === 0 ? task : undefined);
    const a: RunningAgent = await startAgent(fake.address, { overrides: { 'development.trainingSlowdown': 1.5 } });
    cleanup.push(() => a.stop());

    const dropped = await until('the late update to be dropped', () => a.log.messages('late update dropped')[0], 60_000);
    expect(dropped).toMatchObject({ level: LEVEL.warn, job: task.jobId, round: 1, staleness: 1, reason: "staleness 1 exceeds the job's maxStaleness 0" });
    // The slowdown: one line for the round, and the upload started no earlier than the wait it announced (generous bound).
    const [slowdown] = a.log.messages(/^development slowdown: waiting \d+ ms$/);
    expect(slowdown).toMatchObject({ level: LEVEL.info, job: task.jobId, round: 1, factor: 1.5 });
    expect(slowdown!.ms as number).toBeGreaterThan(0);
    const started = a.log.messages('upload started')[0]!;
    expect((started.time as number) - (slowdown!.time as number)).toBeGreaterThanOrEqual((slowdown!.ms as number) / 2);
    expect(a.log.messages(/^development slowdown/)).toHaveLength(1);

    // The task ended normally: the agent polls on, and no heartbeat reported it failed.
    const polls = fake.count('pollTask');
    await until('the agent to poll again', () => fake.count('pollTask') > polls + 1);
    expect(fake.heartbeats.filter((h) => h.state === 'failed')).toEqual([]);
    expect(a.log.lines.filter((l) => l.level >= LEVEL.error)).toEqual([]);
    expect(fake.uploads).toHaveLength(1);
    expect((await new PrivacyLedger({ stateDir: a.stateDir, dataset: 'cohort' }).read()).entries).toHaveLength(1);
    expect(a.settled()).toBe(false);
  });
});
