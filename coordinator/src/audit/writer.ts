import type { AuditEntry, AuditEvent, AuditEventInput, AuditHead } from '@medfed/proto/audit/index';
import type { Db } from '../storage/db.js';
import { AuditStoreError } from './errors.js';
import { appendValidatedInTransaction, asWriteFailure, validateAuditInput } from './store/append.js';

export interface AuditWriterOptions {
  /** Most events per transaction (each is one INSERT row of 11 parameters). Default 256. */
  readonly maxBatch?: number;
  /** Called after each committed batch with the new head (for example to wake the anchorer). */
  readonly onCommit?: (head: AuditHead, entries: readonly AuditEntry[]) => void;
}

interface Pending {
  readonly event: AuditEvent;
  readonly resolve: (entry: AuditEntry) => void;
  readonly reject: (err: Error) => void;
}

/**
 * Group commit for the audit chain. Concurrent `append` calls queue; one transaction at a time takes
 * everything queued, appends it after the locked head and commits; each call resolves only after
 * that commit, so an action returns only once its event is durable. If the transaction fails, every
 * call in it rejects (fail closed) and none of its events exists. Requests never wait on each other's
 * hashing one by one: a batch costs one round trip however many requests it carries.
 */
export class AuditWriter {
  readonly #db: Db;
  readonly #maxBatch: number;
  readonly #onCommit: AuditWriterOptions['onCommit'];
  readonly #queue: Pending[] = [];
  #draining: Promise<void> | null = null;
  #closed = false;

  constructor(db: Db, options: AuditWriterOptions = {}) {
    this.#db = db;
    this.#maxBatch = Math.max(1, Math.min(options.maxBatch ?? 256, 4000));
    this.#onCommit = options.onCommit;
  }

  /** Resolves with the durable entry, or rejects (AUDIT_WRITE_FAILED, a validation code, AUDIT_WRITER_CLOSED). */
  append(input: AuditEventInput): Promise<AuditEntry> {
    if (this.#closed) return Promise.reject(new AuditStoreError('AUDIT_WRITER_CLOSED', 'the audit writer is closed; the action cannot be recorded and is refused'));
    let event: AuditEvent;
    try {
      event = validateAuditInput(input);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return new Promise<AuditEntry>((resolve, reject) => {
      this.#queue.push({ event, resolve, reject });
      // Start after the current synchronous burst, so that callers in the same tick share a batch.
      this.#draining ??= Promise.resolve().then(() => this.#drain());
    });
  }

  /** Stops accepting events and waits for those already queued. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#draining) await this.#draining;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        let entries: AuditEntry[];
        try {
          entries = await this.#db.transaction((tx) => appendValidatedInTransaction(tx, batch.map((p) => p.event)));
        } catch (err) {
          const failure = asWriteFailure(err);
          for (const p of batch) p.reject(failure);
          continue;
        }
        batch.forEach((p, i) => p.resolve(entries[i]!));
        const last = entries[entries.length - 1]!;
        try {
          this.#onCommit?.({ seq: last.seq, hash: last.hash }, entries);
        } catch {
          // A hook's failure must not undo or fail committed actions.
        }
      }
    } finally {
      this.#draining = null;
    }
  }
}
