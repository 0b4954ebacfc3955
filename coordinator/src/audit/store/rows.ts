import type { AuditEntry } from '@medfed/proto/audit/index';
import type { Queryable } from '../../storage/db.js';

/** A stored entry: the event's JCS text and its two chain hashes. */
export interface AuditRow {
  readonly seq: number;
  readonly event: string;
  readonly prev_hash: string;
  readonly hash: string;
}

/** The entry a row stands for, or null when its event text is not a JSON object (tampered storage). */
export function rowToEntry(row: AuditRow): AuditEntry | null {
  let event: unknown;
  try {
    event = JSON.parse(row.event);
  } catch {
    return null;
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return null;
  return { ...(event as AuditEntry), prev_hash: row.prev_hash, hash: row.hash };
}

/** Pages of rows in seq order within [fromSeq, toSeq] (keyset pagination: constant memory, both backends). */
export async function* auditRowPages(db: Queryable, range: { fromSeq: number; toSeq?: number | null; pageSize?: number }): AsyncGenerator<AuditRow[]> {
  const pageSize = range.pageSize ?? 2000;
  let after = range.fromSeq - 1;
  const to = range.toSeq ?? Number.MAX_SAFE_INTEGER;
  for (;;) {
    const { rows } = await db.query<AuditRow>(
      'SELECT seq, event, prev_hash, hash FROM audit_events WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3',
      [after, to, pageSize]);
    if (rows.length === 0) return;
    yield rows.map((r) => ({ ...r, seq: Number(r.seq) }));
    after = Number(rows[rows.length - 1]!.seq);
    if (rows.length < pageSize) return;
  }
}
