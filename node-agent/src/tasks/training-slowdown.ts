import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskContext } from './task-context.js';

/** No simulated slowdown waits longer than this, whatever the factor and the training time. */
export const MAX_SLOWDOWN_MS = 10 * 60_000;

/** The wait after a training of `trainingMs`: (factor - 1) x its wall time, capped. */
export function slowdownMs(factor: number, trainingMs: number): number {
  if (!(factor > 1) || !(trainingMs > 0)) return 0;
  return Math.min(MAX_SLOWDOWN_MS, Math.round((factor - 1) * trainingMs));
}

/**
 * Development simulations of unequal sites (semi-asynchronous rounds): after local training the
 * site waits as if its training had taken `factor` times as long, before clipping and uploading.
 * The agent refuses the option in production (config/development-options.ts).
 */
export async function developmentSlowdown(ctx: Pick<TaskContext, 'task' | 'log' | 'trainingSlowdown'>, trainingMs: number): Promise<number> {
  const factor = ctx.trainingSlowdown?.factor ?? 1;
  const ms = slowdownMs(factor, trainingMs);
  if (ms === 0) return 0;
  ctx.log.info({ job: ctx.task.jobId, round: ctx.task.round, factor, trainingMs: Math.round(trainingMs), ms }, `development slowdown: waiting ${ms} ms`);
  // A stopping agent ends the wait; the task then ends with it.
  await sleep(ms, undefined, { signal: ctx.trainingSlowdown?.signal }).catch(() => undefined);
  return ms;
}
