import { setTimeout as sleep } from 'node:timers/promises';

/** Where the wait for cosignatures reports: each retry at debug, the final refusal at warn. */
export interface CosignatureWaitLog {
  debug(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface CosignatureWaitOptions {
  /** Epoch milliseconds after which no further download is tried (the task's deadline). */
  readonly deadlineMs: number;
  /** What the download is, for the log lines. */
  readonly subject: string;
  readonly log?: CosignatureWaitLog | undefined;
  /** First pause between attempts (default 500 ms); it doubles up to `maxDelayMs` (default 5 s). */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
}

/** Without a task deadline, how long a download waits for the other sites' cosignatures. */
export const DEFAULT_COSIGNATURE_WAIT_MS = 60_000;

const INSUFFICIENT = 'COSIGNATURES_INSUFFICIENT';

/**
 * Runs `attempt` (download and verify) again while it is refused with COSIGNATURES_INSUFFICIENT
 * and the deadline allows: a fresh checkpoint has no cosignatures until the other sites have
 * verified and cosigned it, so the first sites to download a new model are refused for a moment;
 * each attempt cosigns what it verified, which lets the others through, and the coordinator serves
 * the most-cosigned checkpoint. Any other refusal, or the deadline, ends the wait with the error.
 */
export async function awaitCosignatures<T>(attempt: () => Promise<T>, options: CosignatureWaitOptions): Promise<T> {
  const maxDelay = options.maxDelayMs ?? 5000;
  let delay = options.initialDelayMs ?? 500;
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (err) {
      if ((err as { code?: unknown }).code !== INSUFFICIENT) throw err;
      const left = options.deadlineMs - Date.now();
      if (left <= delay) {
        options.log?.warn({ subject: options.subject, attempts: tries, code: INSUFFICIENT },
          `${options.subject}: the checkpoint still lacks the required cosignatures at the task deadline; refusing it`);
        throw err;
      }
      options.log?.debug({ subject: options.subject, attempt: tries, retryInMs: delay, code: INSUFFICIENT },
        `${options.subject}: waiting for other sites to cosign the checkpoint`);
      await sleep(delay);
      delay = Math.min(maxDelay, delay * 2);
    }
  }
}
