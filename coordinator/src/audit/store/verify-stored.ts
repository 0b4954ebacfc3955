import {
  AuditChainVerifier, GENESIS_PREV_HASH, parseTruncationPayload, verifyCompactJws,
  type ChainSummary, type VerifyProblem,
} from '@medfed/proto/audit/index';
import type { JSONWebKeySet } from 'jose';
import type { Queryable } from '../../storage/db.js';
import { currentHead } from './head.js';
import { auditRowPages, rowToEntry } from './rows.js';

export interface StoredChainVerdict {
  readonly ok: boolean;
  readonly problem: VerifyProblem | null;
  readonly summary: ChainSummary;
  /** The truncation anchor the chain starts after, if entries were purged. */
  readonly truncatedThrough: number | null;
}

/**
 * Verifies the stored chain end to end: from the genesis or the latest signed truncation anchor to
 * the head row, every seq present, every link and hash right, every recorded anchor matched.
 * Streams pages, so it runs in constant memory.
 */
export async function verifyStoredChain(db: Queryable, options: { jwks?: JSONWebKeySet; pageSize?: number } = {}): Promise<StoredChainVerdict> {
  const { rows: truncations } = await db.query<{ seq: number; hash: string; jws: string }>(
    'SELECT seq, hash, jws FROM audit_truncations ORDER BY seq DESC LIMIT 1');
  const truncation = truncations[0] ? { ...truncations[0], seq: Number(truncations[0].seq) } : null;
  const empty: ChainSummary = { entries: 0, hashOnly: 0, firstSeq: null, lastSeq: null, firstPrevHash: null, lastHash: null };
  if (truncation) {
    const fail = (message: string): StoredChainVerdict => ({
      ok: false, summary: empty, truncatedThrough: truncation.seq,
      problem: { code: 'AUDIT_TRUNCATION_INVALID', seq: truncation.seq, line: null, message },
    });
    if (!options.jwks) return fail('entries were purged; pass the coordinator JWKS to verify the signed truncation anchor');
    try {
      const anchor = parseTruncationPayload(await verifyCompactJws(truncation.jws, options.jwks, `truncation anchor seq ${truncation.seq}`));
      if (anchor.seq !== truncation.seq || anchor.hash !== truncation.hash) return fail(`the signed anchor says seq ${anchor.seq} / ${anchor.hash}, the row says seq ${truncation.seq} / ${truncation.hash}`);
    } catch (err) {
      return fail((err as Error).message);
    }
  }
  const start = truncation ? { seq: truncation.seq + 1, prevHash: truncation.hash } : { seq: 1, prevHash: GENESIS_PREV_HASH };
  const { rows: anchorRows } = await db.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_anchors WHERE seq >= $1', [start.seq]);
  const verifier = new AuditChainVerifier({ start, anchors: new Map(anchorRows.map((a) => [Number(a.seq), a.hash])) });
  const head = await currentHead(db);
  outer: for await (const page of auditRowPages(db, { fromSeq: start.seq, toSeq: null, pageSize: options.pageSize ?? 5000 })) {
    for (const row of page) {
      // The seq column only orders the rows; the verifier checks the seq inside the hashed event.
      if (!verifier.pushEntry(rowToEntry(row))) break outer;
    }
  }
  const verdict = verifier.finish(head.seq >= start.seq ? head : null);
  return { ...verdict, truncatedThrough: truncation?.seq ?? null };
}
