import type { AnchorRecord } from '@medfed/proto/audit/index';
import type { Queryable } from '../../storage/db.js';
import type { NormalizedFilter } from './filter.js';

/** The contiguous seq span an export covers: from the first to the last event inside [from, to]. */
export interface ExportRange {
  readonly firstSeq: number;
  readonly lastSeq: number;
}

export async function exportRange(db: Queryable, filter: NormalizedFilter): Promise<ExportRange | null> {
  const { rows } = await db.query<{ first_seq: number | null; last_seq: number | null }>(
    `SELECT min(seq) AS first_seq, max(seq) AS last_seq FROM audit_events
      WHERE ($1::timestamptz IS NULL OR at >= $1::timestamptz) AND ($2::timestamptz IS NULL OR at <= $2::timestamptz)`,
    [filter.from, filter.to]);
  const r = rows[0];
  return r?.first_seq == null || r.last_seq == null ? null : { firstSeq: Number(r.first_seq), lastSeq: Number(r.last_seq) };
}

/** The recorded transparency-log anchors whose seq lies in the range. */
export async function anchorsInRange(db: Queryable, range: ExportRange | null): Promise<AnchorRecord[]> {
  if (!range) return [];
  const { rows } = await db.query<{ seq: number; hash: string; leaf_index: number; checkpoint: string | null; anchored_at: Date | string }>(
    'SELECT seq, hash, leaf_index, checkpoint, anchored_at FROM audit_anchors WHERE seq BETWEEN $1 AND $2 ORDER BY seq',
    [range.firstSeq, range.lastSeq]);
  return rows.map((a) => ({
    seq: Number(a.seq), hash: a.hash, leaf_index: Number(a.leaf_index), checkpoint: a.checkpoint,
    anchored_at: new Date(a.anchored_at).toISOString(),
  }));
}
