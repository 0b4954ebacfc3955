import { EventEmitter } from 'node:events';
import type { Queryable } from './db.js';
import { isDatabaseUnavailable } from './errors.js';

export type DatabaseState = 'available' | 'unavailable';

/**
 * Whether the database answers, probed every few seconds and reported by any caller that just saw
 * it fail: readiness, gRPC health and the round loop follow it. Emits `change` once per transition,
 * so an outage is one log line when it starts and one when it ends.
 */
export class DatabaseHealth extends EventEmitter<{ change: [DatabaseState, { since: Date; error?: string }] }> {
  #state: DatabaseState = 'available';
  #since = new Date();
  #timer: NodeJS.Timeout | undefined;

  private readonly db: Queryable;
  private readonly options: { intervalMs?: number; probeTimeoutMs?: number };

  constructor(db: Queryable, options: { intervalMs?: number; probeTimeoutMs?: number } = {}) {
    super();
    this.db = db;
    this.options = options;
  }

  get state(): DatabaseState {
    return this.#state;
  }

  get since(): Date {
    return this.#since;
  }

  start(): void {
    const probe = async () => {
      await this.probe();
      this.#timer = setTimeout(() => void probe(), this.options.intervalMs ?? 2_000);
      this.#timer.unref();
    };
    void probe();
  }

  stop(): void {
    clearTimeout(this.#timer);
  }

  /** One probe (`SELECT 1` within the timeout); never rejects. */
  async probe(): Promise<DatabaseState> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('connection timeout: the database did not answer the health probe')), this.options.probeTimeoutMs ?? 3_000);
      });
      await Promise.race([this.db.query('SELECT 1'), timeout]);
      this.set('available');
    } catch (err) {
      this.set('unavailable', (err as Error).message);
    } finally {
      clearTimeout(timer);
    }
    return this.#state;
  }

  /** A caller saw `err`: an unavailability marks the database down at once (the probe brings it back). */
  observe(err: unknown): void {
    if (isDatabaseUnavailable(err)) this.set('unavailable', (err as Error).message);
  }

  private set(state: DatabaseState, error?: string): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#since = new Date();
    this.emit('change', state, { since: this.#since, ...(error ? { error } : {}) });
  }
}
