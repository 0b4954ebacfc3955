import { truncationPayload, type JwsSigner } from '@medfed/proto/audit/index';
import type { Db } from '../../storage/db.js';
import { AuditStoreError } from '../errors.js';
import { appendInTransaction } from './append.js';
import { lockHead } from './head.js';
import { noteRequestEvent } from '../request-events.js';

/** The role a caller must name, explicitly, to purge: purging is never a side effect of another operation. */
export const AUDIT_RETENTION_ROLE = 'audit-retention';

/** HIPAA 164.316(b)(2)(i): documentation retained six years; leap days included. */
export const AUDIT_MIN_RETENTION_DAYS = 6 * 365 + 2;

export interface PurgeOptions {
  readonly role: typeof AUDIT_RETENTION_ROLE;
  /** Entries whose time is before this instant, and every entry before them in the chain, are purged. */
  readonly before: Date;
  /** Signs the truncation anchor (compact JWS). */
  readonly signer: JwsSigner;
  /** Who purges (recorded in the audit.purge event and the anchor row). */
  readonly actor: string;
  /** The purger's own role, for the audit.purge event (default: the retention role). */
  readonly actorRole?: string;
  /** The rule that admitted the purge (default: the retention rule). */
  readonly rule?: string;
  readonly requestId?: string | null;
  /** Retention in days; never below AUDIT_MIN_RETENTION_DAYS. */
  readonly retentionDays?: number;
  /**
   * Cut newer than the retention period allows (an explicit, deliberate override, e.g. a court-ordered
   * erasure). Still leaves the signed anchor; the audit.purge event says RETENTION_OVERRIDE, and the
   * compliance report lists every purge as an anomaly.
   */
  readonly force?: boolean;
  /**
   * For a forced cut inside retention: the signed approvals that allowed it (the caller verified
   * them against the consortium roster, coordinator/src/governance), named in the audit.purge event
   * with the counted approvals themselves, which a verifier who pinned the roster checks offline.
   */
  readonly approval?: {
    readonly consortium: string;
    readonly version: number;
    readonly digest: string;
    readonly signers: readonly string[];
    readonly approvals?: readonly string[];
  } | null;
  readonly now?: Date;
}

export interface PurgeResult {
  readonly throughSeq: number;
  readonly hash: string;
  readonly purged: number;
  readonly jws: string;
}

const DAY_MS = 86_400_000;

/**
 * The privileged retention path. In one transaction: pick the last seq to purge (every entry up to it
 * is older than `before`), sign a truncation anchor for it, record the anchor, lift the append-only
 * guard for exactly that range (a transaction-local setting the trigger checks, which it honours
 * only while a matching anchor row exists), delete, restore the guard, and append an audit.purge
 * event. The remaining chain verifies from the anchor. Returns null when nothing is old enough.
 */
export async function purgeAuditEntries(db: Db, options: PurgeOptions): Promise<PurgeResult | null> {
  if (options.role !== AUDIT_RETENTION_ROLE) {
    throw new AuditStoreError('AUDIT_PURGE_FORBIDDEN', `purging audit entries requires role "${AUDIT_RETENTION_ROLE}", got ${JSON.stringify(options.role)}`);
  }
  const now = options.now ?? new Date();
  const retentionDays = options.retentionDays ?? AUDIT_MIN_RETENTION_DAYS;
  if (!(retentionDays >= AUDIT_MIN_RETENTION_DAYS)) {
    throw new AuditStoreError('AUDIT_PURGE_RETENTION', `retention must be at least ${AUDIT_MIN_RETENTION_DAYS} days (six years); got ${retentionDays}`);
  }
  const oldestAllowed = new Date(now.getTime() - retentionDays * DAY_MS);
  if (Number.isNaN(options.before.getTime()) || options.before > now) {
    throw new AuditStoreError('AUDIT_PURGE_RETENTION', `the purge cut-off must be a valid instant in the past; got ${Number.isNaN(options.before.getTime()) ? 'an invalid time' : options.before.toISOString()}`);
  }
  if (options.before > oldestAllowed && options.force !== true) {
    throw new AuditStoreError('AUDIT_PURGE_RETENTION',
      `cannot purge entries up to ${options.before.toISOString()}: entries must be kept ${retentionDays} days, so the latest allowed cut-off is ${oldestAllowed.toISOString()}`);
  }
  return db.transaction(async (tx) => {
    const head = await lockHead(tx);
    const { rows: bounds } = await tx.query<{ first_seq: number | null; first_kept: number | null }>(
      'SELECT (SELECT min(seq) FROM audit_events) AS first_seq, (SELECT min(seq) FROM audit_events WHERE at >= $1) AS first_kept',
      [options.before.toISOString()]);
    const firstSeq = bounds[0]?.first_seq == null ? null : Number(bounds[0].first_seq);
    if (firstSeq === null) return null;
    const throughSeq = bounds[0]?.first_kept == null ? head.seq : Number(bounds[0].first_kept) - 1;
    if (throughSeq < firstSeq) return null;
    const { rows } = await tx.query<{ hash: string }>('SELECT hash FROM audit_events WHERE seq = $1', [throughSeq]);
    const hash = rows[0]?.hash;
    if (!hash) throw new AuditStoreError('AUDIT_STORE_CORRUPT', `audit entry seq ${throughSeq} is missing; verify the chain before purging`);
    const purged = throughSeq - firstSeq + 1;
    const purgedAt = now.toISOString();
    const jws = await options.signer(truncationPayload({ seq: throughSeq, hash, purged_at: purgedAt, count: purged }));
    // The privileged path (migration 012): anchor, then delete exactly the prefix it names.
    try {
      await tx.query('SELECT medfed_audit_purge($1, $2, $3, $4, $5, $6) AS deleted', [throughSeq, hash, purged, jws, purgedAt, options.actor]);
    } catch (err) {
      throw new AuditStoreError('AUDIT_STORE_CORRUPT', `the purge through seq ${throughSeq} was refused by the database (${(err as Error).message}); verify the chain first`, undefined, { cause: err });
    }
    const forced = options.before > oldestAllowed;
    const event = {
      time: purgedAt, actor: options.actor, role: options.actorRole ?? AUDIT_RETENTION_ROLE, action: 'audit.purge', resource: 'audit',
      outcome: 'success' as const, rule: options.rule ?? 'retention:hipaa-164.316', request_id: options.requestId ?? null,
      details: {
        through_seq: throughSeq, count: purged, before: options.before.toISOString(), ...(forced ? { reason: 'RETENTION_OVERRIDE' } : {}),
        ...(options.approval ? {
          consortium: options.approval.consortium, version: options.approval.version, sha256: options.approval.digest, signers: [...options.approval.signers],
          ...(options.approval.approvals && options.approval.approvals.length > 0 ? { approvals: [...options.approval.approvals] } : {}),
        } : {}),
      },
    };
    const entry = await appendInTransaction(tx, event);
    noteRequestEvent(event, { seq: entry.seq, hash: entry.hash });
    return { throughSeq, hash, purged, jws };
  });
}
