import type { Logger } from 'pino';
import { codeOf, dispositionOf } from './retry-policy.js';

/**
 * Where a run of failures started: the connection (enroll, polling) or a task. Only a success of the
 * same kind ends it: a poll that succeeds while uploads still fail with STORAGE_FULL does not.
 */
export type OutageOrigin = 'connection' | 'task';

/**
 * One log line per state change, not one per retry: a warning when calls start failing, one line
 * when they succeed again (with how long and how many attempts); each attempt in between at debug.
 */
export class OutageLog {
  readonly #log: Logger;
  readonly #now: () => number;
  #state: { origin: OutageOrigin; since: number; failures: number } | null = null;

  constructor(log: Logger, now: () => number = Date.now) {
    this.#log = log;
    this.#now = now;
  }

  get active(): boolean {
    return this.#state !== null;
  }

  failed(origin: OutageOrigin, err: unknown, fields: Record<string, unknown> = {}): void {
    const code = codeOf(err) ?? 'UNEXPECTED';
    if (this.#state) {
      this.#state.failures++;
      this.#log.debug({ ...fields, code, attempt: this.#state.failures }, 'coordinator call failed again; retrying with backoff');
      return;
    }
    this.#state = { origin, since: this.#now(), failures: 1 };
    if (dispositionOf(err) === 'transient') {
      this.#log.warn({ ...fields, code }, `coordinator unavailable (${code}); retrying with backoff`);
    } else {
      this.#log.error({ ...fields, code }, `coordinator call failed (${code}: ${(err as Error)?.message ?? String(err)}); retrying with backoff`);
    }
  }

  /** A call of `origin` succeeded: ends an outage that started there (true when one ended). `attempts` counts the success too. */
  recovered(origin: OutageOrigin, fields: Record<string, unknown> = {}): boolean {
    const s = this.#state;
    if (!s || s.origin !== origin) return false;
    this.#state = null;
    const seconds = (this.#now() - s.since) / 1000;
    const attempts = s.failures + 1;
    this.#log.info({ ...fields, seconds, attempts }, `coordinator reachable again after ${seconds.toFixed(1)} s (${attempts} attempts)`);
    return true;
  }

  /** The failing work was given up (its caller says why): the outage ends without a recovery line. */
  abandoned(origin: OutageOrigin): void {
    if (this.#state?.origin === origin) this.#state = null;
  }
}
