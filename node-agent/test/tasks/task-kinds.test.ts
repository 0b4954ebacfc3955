import { afterEach, describe, expect, it } from '@jest/globals';
import { TaskKind, type Task } from '@medfed/proto';
import { TASK_KINDS, taskKindHandler, taskKindName } from '../../src/tasks/task-kinds.js';
import { startAgent, until } from '../support/agent-harness.js';
import { FakeCoordinator, jobSpec, trainTask } from '../support/fake-coordinator.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'OK';
  } catch (err) {
    return (err as { code: string }).code;
  }
}

describe('task kinds: one handler per kind, and a kind without one is refused', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('has a handler for every kind the protocol defines, and refuses the unset kind and kinds it does not know', () => {
    const defined = Object.values(TaskKind).filter((k) => k !== TaskKind.TASK_KIND_UNSPECIFIED && k !== TaskKind.UNRECOGNIZED);
    expect([...TASK_KINDS.keys()].sort((x, y) => x - y)).toEqual([...defined].sort((x, y) => x - y));
    expect(new Set([...TASK_KINDS.values()].map((h) => h.name)).size).toBe(TASK_KINDS.size);
    const task = (kind: number) => ({ jobId: 'job-x', round: 1, kind } as Task);
    expect(taskKindHandler(task(TaskKind.TASK_KIND_EVALUATE)).name).toBe('evaluate');
    expect(codeOf(() => taskKindHandler(task(TaskKind.TASK_KIND_UNSPECIFIED)))).toBe('TASK_KIND_UNKNOWN');
    expect(codeOf(() => taskKindHandler(task(99)))).toBe('TASK_KIND_UNKNOWN');
    expect(codeOf(() => taskKindHandler(task(TaskKind.UNRECOGNIZED)))).toBe('TASK_KIND_UNKNOWN');
    expect(taskKindName(task(99))).toBe('unknown kind 99');
  });

  it('reports a task of an unknown kind as failed with TASK_KIND_UNKNOWN and runs nothing, then runs the next task', async () => {
    const fake = await FakeCoordinator.start();
    cleanup.push(() => fake.close());
    const model = fake.addModel('m0', new Float32Array(6));
    // The unset kind was once run as an evaluation: it must not be.
    const unknown = trainTask({ jobId: 'job-unknown-kind', round: 1, spec: jobSpec(), model, kind: TaskKind.TASK_KIND_UNSPECIFIED });
    const evaluate = trainTask({ jobId: 'job-evaluate', round: 1, spec: jobSpec(), model, kind: TaskKind.TASK_KIND_EVALUATE });
    const failedFor = (t: Task) => fake.heartbeats.find((h) => h.jobId === t.jobId && h.state === 'failed');
    fake.task = () => (!failedFor(unknown) ? unknown : fake.metrics.some((m) => m.jobId === evaluate.jobId) ? undefined : evaluate);
    const a = await startAgent(fake.address);
    cleanup.push(() => a.stop());

    const failure = await until('the failure of the unknown kind', () => failedFor(unknown));
    expect(failure.detail).toMatch(/^TASK_KIND_UNKNOWN: task of job job-unknown-kind round 1 is of kind 0, which this agent does not run/);
    expect(a.log.messages(/^task refused or failed: TASK_KIND_UNKNOWN: /).map((l) => l.code)).toEqual(['TASK_KIND_UNKNOWN']);
    await until('the evaluation of the next task', () => fake.metrics.find((m) => m.jobId === evaluate.jobId));
    // Nothing of the unknown task ran: no model fetched for it, no metrics, no state but the failure.
    expect(fake.metrics.map((m) => `${m.jobId} ${m.phase}`)).toEqual(['job-evaluate eval']);
    expect(fake.count('downloadModel')).toBe(1);
    expect(fake.heartbeats.filter((h) => h.jobId === unknown.jobId).map((h) => h.state)).toEqual(['failed']);
    expect(a.settled()).toBe(false);
  });
});
