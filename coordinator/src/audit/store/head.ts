import type { AuditHead } from '@medfed/proto/audit/index';
import type { Queryable } from '../../storage/db.js';

/** The chain's tip: seq 0 and 64 zeros before the first entry. */
export async function currentHead(db: Queryable): Promise<AuditHead> {
  const { rows } = await db.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_head WHERE singleton');
  const head = rows[0];
  if (!head) throw new Error('audit_head is empty: run the coordinator migrations (002.do.audit.sql)');
  return { seq: Number(head.seq), hash: head.hash };
}

/** Locks the head row until the transaction ends: appends from every connection queue here. */
export async function lockHead(tx: Queryable): Promise<AuditHead> {
  const { rows } = await tx.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_head WHERE singleton FOR UPDATE');
  const head = rows[0];
  if (!head) throw new Error('audit_head is empty: run the coordinator migrations (002.do.audit.sql)');
  return { seq: Number(head.seq), hash: head.hash };
}
