import type { AuditEntry } from '@medfed/proto/audit/index';
import type { Queryable } from '../../storage/db.js';

/** A stored entry: the event's JCS text and its two chain hashes. */
export interface AuditRow {
  readonly seq: number;
  readonly event: string;
  readonly prev_hash: string;
  readonly hash: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The entry a row stands for, or null when its event text is not an event-shaped JSON object
 * (tampered storage): readers then report the row instead of tripping over it.
 */
export function rowToEntry(row: AuditRow): AuditEntry | null {
  let event: unknown;
  try {
    event = JSON.parse(row.event);
  } catch {
    return null;
  }
  if (!isRecord(event) || !isRecord(event['details']) || typeof event['time'] !== 'string' || typeof event['action'] !== 'string'
    || typeof event['actor'] !== 'string' || typeof event['role'] !== 'string' || typeof event['resource'] !== 'string') return null;
  return { ...(event as unknown as AuditEntry), prev_hash: row.prev_hash, hash: row.hash };
}

/**
 * Pages of rows in seq order within [fromSeq, toSeq] (keyset pagination: constant memory, both
 * backends). The next page is already being fetched while the caller works on the current one.
 */
export async function* auditRowPages(db: Queryable, range: { fromSeq: number; toSeq?: number | null; pageSize?: number }): AsyncGenerator<AuditRow[]> {
  const pageSize = range.pageSize ?? 2000;
  const to = range.toSeq ?? Number.MAX_SAFE_INTEGER;
  const fetchAfter = async (after: number): Promise<AuditRow[]> => {
    const { rows } = await db.query<AuditRow>(
      'SELECT seq, event, prev_hash, hash FROM audit_events WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3',
      [after, to, pageSize]);
    return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
  };
  let next: Promise<AuditRow[]> | null = fetchAfter(range.fromSeq - 1);
  try {
    while (next) {
      const rows: AuditRow[] = await next;
      next = rows.length === pageSize ? fetchAfter(rows[rows.length - 1]!.seq) : null;
      if (rows.length > 0) yield rows;
    }
  } finally {
    // A consumer that stops early must not leave a query's rejection unhandled.
    await next?.catch(() => {});
  }
}
