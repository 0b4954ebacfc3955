import { classifyDatabaseError, isDatabaseUnavailable } from '../../storage/errors.js';
import { AuditError, canonicalJson, chainHashOfCanonical, eventJob, toAuditEvent, type AuditEntry, type AuditEvent, type AuditEventInput } from '@medfed/proto/audit/index';
import type { Db, Queryable } from '../../storage/db.js';
import { AuditStoreError } from '../errors.js';
import { lockHead } from './head.js';

const COLUMNS = ['seq', 'at', 'action', 'actor', 'role', 'site', 'job', 'outcome', 'event', 'prev_hash', 'hash'] as const;

/** Validates without a sequence number yet (1 is a placeholder): bad events fail before any lock is taken. */
export function validateAuditInput(input: AuditEventInput): AuditEvent {
  return toAuditEvent(input, 1);
}

/**
 * Appends already-validated events after the locked head, inside the caller's transaction: they
 * commit or roll back with it. Returns the entries in order.
 */
export async function appendValidatedInTransaction(tx: Queryable, events: readonly AuditEvent[]): Promise<AuditEntry[]> {
  if (events.length === 0) return [];
  try {
    const head = await lockHead(tx);
    let prev = head.hash;
    const entries: AuditEntry[] = [];
    const params: unknown[] = [];
    const tuples: string[] = [];
    for (const [i, validated] of events.entries()) {
      const event: AuditEvent = { ...validated, seq: head.seq + i + 1 };
      const jcs = canonicalJson(event);
      const hash = chainHashOfCanonical(prev, jcs);
      entries.push({ ...event, prev_hash: prev, hash });
      const base = params.length;
      tuples.push(`(${COLUMNS.map((_, c) => `$${base + c + 1}`).join(', ')})`);
      params.push(event.seq, event.time, event.action, event.actor, event.role, event.site, eventJob(event), event.outcome, jcs, prev, hash);
      prev = hash;
    }
    await tx.query(`INSERT INTO audit_events (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`, params);
    const last = entries[entries.length - 1]!;
    await tx.query('UPDATE audit_head SET seq = $1, hash = $2 WHERE singleton', [last.seq, last.hash]);
    return entries;
  } catch (err) {
    throw asWriteFailure(err);
  }
}

/** Appends one event in the caller's transaction: the action and its audit event commit together or not at all. */
export async function appendInTransaction(tx: Queryable, input: AuditEventInput): Promise<AuditEntry> {
  const [entry] = await appendValidatedInTransaction(tx, [validateAuditInput(input)]);
  return entry!;
}

/** Appends one event in its own transaction (for actions with no transaction of their own). */
export async function appendAuditEvent(db: Db, input: AuditEventInput): Promise<AuditEntry> {
  const event = validateAuditInput(input);
  const [entry] = await db.transaction((tx) => appendValidatedInTransaction(tx, [event])).catch((err: unknown): never => {
    throw asWriteFailure(err);
  });
  return entry!;
}

/** Any failure to make an event durable is AUDIT_WRITE_FAILED (validation errors keep their own code). */
export function asWriteFailure(err: unknown): Error {
  if (err instanceof AuditError || err instanceof AuditStoreError) return err;
  // An unreachable database keeps its own retryable code: the action is refused all the same.
  if (isDatabaseUnavailable(err)) return classifyDatabaseError(err) as Error;
  return new AuditStoreError('AUDIT_WRITE_FAILED', `the audit trail could not be written (${(err as Error)?.message ?? String(err)}); the action is refused`, undefined, { cause: err });
}
