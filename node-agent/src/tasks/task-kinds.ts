import { TaskKind, type Task } from '@medfed/proto';
import type { StatsSiteInputs } from '../statistics/site-inputs.js';
import { TaskError } from './errors.js';
import { runKeyTask, type KeyTask, type KeyTaskDeps } from './key-task.js';
import { runEvaluateTask, runTrainTask } from './model-task.js';
import { runReleaseTask, type ReleaseContext } from './release-task.js';
import { runStatsTask } from './stats-task.js';
import { runStatsPublishTask, runStatsQueryTask } from './stats-query-task.js';
import type { TaskContext } from './task-context.js';

/** What the agent lends a task handler: contexts built from its configuration, keys and connection. */
export interface TaskHost {
  /** The context of a task over the site's data (its spec parsed and checked: TASK_INVALID otherwise). */
  taskContext(task: Task): TaskContext;
  /** What a statistics query reads afresh: the site's records, masking files and opt-out list. */
  statsInputs(): Promise<StatsSiteInputs>;
  /** The site keys, pins and steward approvals a key ceremony step works with. */
  keyTaskDeps(task: Task): Promise<KeyTaskDeps>;
  /** A release step's context: the approvals are verified with this site's pins, read afresh. */
  releaseContext(task: Task): Promise<ReleaseContext>;
}

export interface TaskKindHandler {
  /** The kind's name in logs, heartbeats and retry keys. */
  readonly name: string;
  /** What the heartbeat reports while the task runs (idle after); absent: a ceremony step, which reports none. */
  readonly state?: 'training' | 'evaluating';
  /**
   * A step the coordinator keeps pending and hands out again (key ceremony, release): its failure
   * is logged under this line, and the agent pauses before polling rather than spin on it. Absent:
   * a round's task, whose failure fails the task.
   */
  readonly pendingStep?: string;
  run(task: Task, host: TaskHost): Promise<void>;
}

/** Every task kind the agent runs. Adding one: its handler and one line here. */
export const TASK_KINDS: ReadonlyMap<number, TaskKindHandler> = new Map<number, TaskKindHandler>([
  [TaskKind.TASK_KIND_KEYS, {
    name: 'keys', pendingStep: 'key ceremony step refused',
    run: async (task, host) => runKeyTask(task.jobId, JSON.parse(task.keyTaskJson) as KeyTask, await host.keyTaskDeps(task)),
  }],
  [TaskKind.TASK_KIND_RELEASE, {
    name: 'release', pendingStep: 'release step refused or failed',
    run: async (task, host) => {
      const ctx = await host.releaseContext(task);
      const outcome = await runReleaseTask(ctx);
      ctx.log.info({ job: task.jobId, round: task.round, outcome }, 'release step done');
    },
  }],
  [TaskKind.TASK_KIND_STATS, { name: 'stats', state: 'training', run: (task, host) => runStatsTask(host.taskContext(task)) }],
  [TaskKind.TASK_KIND_TRAIN, { name: 'train', state: 'training', run: (task, host) => runTrainTask(host.taskContext(task)) }],
  [TaskKind.TASK_KIND_EVALUATE, { name: 'evaluate', state: 'evaluating', run: (task, host) => runEvaluateTask(host.taskContext(task)) }],
  // Federated statistics read the site's records and masking files afresh (docs/statistics.md).
  [TaskKind.TASK_KIND_STATS_QUERY, {
    name: 'stats-query', state: 'evaluating',
    run: async (task, host) => runStatsQueryTask({ ...host.taskContext(task), statsInputs: await host.statsInputs() }),
  }],
  [TaskKind.TASK_KIND_STATS_PUBLISH, {
    name: 'stats-publish', state: 'evaluating',
    run: async (task, host) => runStatsPublishTask({ ...host.taskContext(task), statsInputs: await host.statsInputs() }),
  }],
]);

/** The name a task's kind goes by in logs and retry keys, known or not. */
export function taskKindName(task: Task): string {
  return TASK_KINDS.get(task.kind)?.name ?? `unknown kind ${task.kind}`;
}

/**
 * The handler of a task's kind. A kind this agent has no handler for (a newer coordinator, or an
 * unset kind) is refused: it is never run as some other kind.
 */
export function taskKindHandler(task: Task): TaskKindHandler {
  const handler = TASK_KINDS.get(task.kind);
  if (handler) return handler;
  const known = [...TASK_KINDS.values()].map((h) => h.name).join(', ');
  throw new TaskError('TASK_KIND_UNKNOWN',
    `task of job ${task.jobId} round ${task.round} is of kind ${task.kind}, which this agent does not run (it runs ${known}); upgrade the agent to the coordinator's release`,
    { kind: task.kind });
}
