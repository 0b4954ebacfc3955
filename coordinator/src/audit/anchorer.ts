import { anchorLeafBytes, type AnchorRecord, type AuditHead } from '@medfed/proto/audit/index';
import type { Db } from '../storage/db.js';
import { AuditStoreError } from './errors.js';
import { currentHead } from './store/head.js';

/** Appends a leaf to the transparency log (coordinator/src/tlog/), returning its index and the new checkpoint. */
export type AppendLeaf = (leaf: Uint8Array) => Promise<{ readonly index: number; readonly checkpoint: unknown }>;

export interface AuditAnchorerOptions {
  readonly db: Db;
  readonly appendLeaf: AppendLeaf;
  /** At most one anchor per interval, and at least one per interval while events arrive. Default and maximum: 60 s. */
  readonly intervalMs?: number;
  readonly now?: () => Date;
  /** Called with each anchor once it is recorded. */
  readonly onAnchor?: (anchor: AnchorRecord) => void;
  /** Called when a timed anchoring attempt fails (the next interval tries again). */
  readonly onError?: (err: Error) => void;
}

export const AUDIT_ANCHOR_MAX_INTERVAL_MS = 60_000;

/**
 * Anchors the chain head in the transparency log: once per interval, only if new events arrived
 * since the last anchor. Each anchor (seq, hash, leaf index, checkpoint) is recorded in audit_anchors,
 * and exports carry them so a verifier can tie the chain to the public log.
 */
export class AuditAnchorer {
  readonly #db: Db;
  readonly #appendLeaf: AppendLeaf;
  readonly #intervalMs: number;
  readonly #now: () => Date;
  readonly #onAnchor: AuditAnchorerOptions['onAnchor'];
  readonly #onError: AuditAnchorerOptions['onError'];
  #lastSeq: number | null = null;
  #lastAt = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | null = null;
  #inFlight: Promise<AnchorRecord | null> | null = null;

  constructor(options: AuditAnchorerOptions) {
    this.#db = options.db;
    this.#appendLeaf = options.appendLeaf;
    this.#intervalMs = Math.min(options.intervalMs ?? AUDIT_ANCHOR_MAX_INTERVAL_MS, AUDIT_ANCHOR_MAX_INTERVAL_MS);
    this.#now = options.now ?? (() => new Date());
    this.#onAnchor = options.onAnchor;
    this.#onError = options.onError;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => { void this.tick().catch((err: Error) => this.#onError?.(err)); }, this.#intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#inFlight?.catch(() => null);
  }

  /** Anchors the head if the interval has passed since the last anchor and the head moved. */
  async tick(): Promise<AnchorRecord | null> {
    if (this.#now().getTime() - this.#lastAt < this.#intervalMs) return null;
    return this.anchorNow();
  }

  /** Anchors the head now if it moved since the last anchor (for shutdown, or an export that wants a fresh anchor). */
  anchorNow(): Promise<AnchorRecord | null> {
    this.#inFlight ??= this.#anchor().finally(() => { this.#inFlight = null; });
    return this.#inFlight;
  }

  async #anchor(): Promise<AnchorRecord | null> {
    if (this.#lastSeq === null) {
      const { rows } = await this.#db.query<{ seq: number | null }>('SELECT max(seq) AS seq FROM audit_anchors');
      this.#lastSeq = rows[0]?.seq == null ? 0 : Number(rows[0].seq);
    }
    const head: AuditHead = await currentHead(this.#db);
    if (head.seq <= this.#lastSeq) return null;
    let appended: { index: number; checkpoint: unknown };
    try {
      appended = await this.#appendLeaf(anchorLeafBytes(head));
    } catch (err) {
      throw new AuditStoreError('AUDIT_ANCHOR_FAILED', `the chain head seq ${head.seq} could not be appended to the transparency log: ${(err as Error).message}`, undefined, { cause: err });
    }
    const at = this.#now();
    const checkpoint = appended.checkpoint === undefined || appended.checkpoint === null ? null
      : typeof appended.checkpoint === 'string' ? appended.checkpoint : JSON.stringify(appended.checkpoint);
    // Another coordinator may have anchored the same head: the first record stands.
    await this.#db.query(
      'INSERT INTO audit_anchors (seq, hash, leaf_index, checkpoint, anchored_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq) DO NOTHING',
      [head.seq, head.hash, appended.index, checkpoint, at.toISOString()]);
    this.#lastSeq = head.seq;
    this.#lastAt = at.getTime();
    const record: AnchorRecord = { seq: head.seq, hash: head.hash, leaf_index: appended.index, anchored_at: at.toISOString(), checkpoint };
    this.#onAnchor?.(record);
    return record;
  }
}
