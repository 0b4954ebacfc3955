import type { Logger } from 'pino';
import { isDatabaseUnavailable, StorageError } from '../storage/errors.js';
import type { DatabaseHealth } from '../storage/database-health.js';

export interface RoundLoop {
  stop(): void;
}

/**
 * Drives the periodic work (round deadlines, interrupted aggregations, release step deadlines):
 * one pass every `intervalMs`, never two at once. While the database is unreachable it backs off
 * (doubling up to `maxBackoffMs`) and resumes by itself when the database answers again; no
 * failure escapes as an unhandled rejection.
 */
export function startRoundLoop(options: {
  work: () => Promise<void>; intervalMs: number; health: DatabaseHealth; log: Logger; maxBackoffMs?: number;
}): RoundLoop {
  const maxBackoff = options.maxBackoffMs ?? 30_000;
  let backoff = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => void pass(), ms);
    timer.unref();
  };
  const pass = async () => {
    try {
      if (options.health.state === 'unavailable' && (await options.health.probe()) === 'unavailable') {
        throw new StorageError('DATABASE_UNAVAILABLE', 'the database still does not answer its health probe');
      }
      await options.work();
      backoff = 0;
    } catch (err) {
      if (isDatabaseUnavailable(err)) {
        options.health.observe(err);
        backoff = Math.min(maxBackoff, backoff === 0 ? options.intervalMs * 2 : backoff * 2);
      } else {
        options.log.error({ err }, 'round progression failed');
      }
    }
    schedule(backoff || options.intervalMs);
  };
  schedule(0);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
