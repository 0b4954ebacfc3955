import { GrpcStatus, MedfedError, type ErrorTable } from '@medfed/proto';

/** Refusals of a task the coordinator handed out: the agent does not trust what a task says. */
export const TASK_ERRORS = {
  TASK_INVALID: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The task is malformed: its job spec, encryption settings, model chain, statistics query or release body is not JSON, incomplete or inconsistent; the site refuses it before touching local data.',
  },
  TASK_KIND_UNKNOWN: {
    http: 501,
    grpc: GrpcStatus.UNIMPLEMENTED,
    summary: 'The task is of a kind this agent has no handler for (node-agent/src/tasks/task-kinds.ts), typically a coordinator newer than the agent; the task is reported as failed and nothing is run.',
  },
} as const satisfies ErrorTable;

export type TaskErrorCode = keyof typeof TASK_ERRORS;

export class TaskError extends MedfedError<TaskErrorCode> {}
