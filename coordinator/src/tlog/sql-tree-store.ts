import { TlogError, type AppendBatch, type NodeId, type TreeHead, type TreeStore } from '@medfed/proto/tlog/index';
import type { Db, Queryable } from '../storage/db.js';

const HASH_SIZE = 32;

interface HeadRow {
  size: number | string;
  root_hash: Uint8Array;
  frontier: Uint8Array;
}

/** bytea arrives as a Buffer from pg and as a Uint8Array from PGlite. */
const bytes = (v: Uint8Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
const hex = (v: Uint8Array) => bytes(v).toString('hex');

function toHead(row: HeadRow | undefined): TreeHead {
  if (!row) throw new TlogError('TLOG_NODE_MISSING', 'the tlog_head row is missing: run the coordinator migrations');
  const frontier = bytes(row.frontier);
  const hashes: Uint8Array[] = [];
  for (let at = 0; at < frontier.length; at += HASH_SIZE) hashes.push(frontier.subarray(at, at + HASH_SIZE));
  return { size: Number(row.size), rootHash: bytes(row.root_hash), frontier: hashes };
}

/**
 * The transparency log's TreeStore over PostgreSQL or PGlite (tables of migrations/003.do.tlog.sql).
 * Appends lock the head row FOR UPDATE, so writers are serialised across connections and processes,
 * and write leaves, nodes and the new head in one transaction: a crash leaves all of it or none.
 */
export class SqlTreeStore implements TreeStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async readHead(): Promise<TreeHead> {
    const { rows } = await this.#db.query<HeadRow>('SELECT size, root_hash, frontier FROM tlog_head WHERE singleton');
    return toHead(rows[0]);
  }

  async readNodes(ids: readonly NodeId[]): Promise<Uint8Array[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.#db.query<{ level: number; idx: number | string; hash: Uint8Array }>(
      `SELECT n.level, n.idx, n.hash
         FROM unnest($1::smallint[], $2::bigint[]) AS q(level, idx)
         JOIN tlog_nodes n ON n.level = q.level AND n.idx = q.idx`,
      [ids.map((id) => id.level), ids.map((id) => id.index)],
    );
    const found = new Map(rows.map((r) => [`${r.level}/${Number(r.idx)}`, bytes(r.hash)]));
    return ids.map(({ level, index }) => {
      const hash = found.get(`${level}/${index}`);
      if (!hash) throw new TlogError('TLOG_NODE_MISSING', `no stored node at level ${level}, index ${index}: the log storage is incomplete`);
      return hash;
    });
  }

  async readLeaf(index: number): Promise<Uint8Array | undefined> {
    const { rows } = await this.#db.query<{ data: Uint8Array }>('SELECT data FROM tlog_leaves WHERE idx = $1', [index]);
    return rows[0] ? bytes(rows[0].data) : undefined;
  }

  async findLeaf(leafHash: Uint8Array): Promise<number | undefined> {
    const { rows } = await this.#db.query<{ idx: number | string }>(
      'SELECT idx FROM tlog_leaves WHERE leaf_hash = $1 ORDER BY idx LIMIT 1', [bytes(leafHash)]);
    return rows[0] ? Number(rows[0].idx) : undefined;
  }

  append(plan: (head: TreeHead) => AppendBatch): Promise<AppendBatch> {
    return this.#db.transaction(async (tx) => {
      const { rows } = await tx.query<HeadRow>('SELECT size, root_hash, frontier FROM tlog_head WHERE singleton FOR UPDATE');
      const head = toHead(rows[0]);
      const batch = plan(head);
      if (batch.firstIndex !== head.size) {
        throw new TlogError('TLOG_STORE_CONFLICT', `append planned at ${batch.firstIndex} but the log has ${head.size} leaves`);
      }
      if (batch.leaves.length === 0) return batch;
      await insertLeaves(tx, batch);
      await insertNodes(tx, batch);
      const updated = await tx.query(
        'UPDATE tlog_head SET size = $1, root_hash = $2, frontier = $3, updated_at = now() WHERE singleton AND size = $4',
        [batch.head.size, bytes(batch.head.rootHash), Buffer.concat(batch.head.frontier.map(bytes)), head.size],
      );
      if (updated.rowCount !== 1) throw new TlogError('TLOG_STORE_CONFLICT', 'the log head moved during the append');
      return batch;
    });
  }
}

// Arrays of bytea travel as hex text and are decoded in SQL: both drivers serialise text[] the same way.
async function insertLeaves(tx: Queryable, batch: AppendBatch): Promise<void> {
  await tx.query(
    `INSERT INTO tlog_leaves (idx, leaf_hash, data)
     SELECT t.idx, decode(t.h, 'hex'), decode(t.d, 'hex') FROM unnest($1::bigint[], $2::text[], $3::text[]) AS t(idx, h, d)`,
    [batch.leaves.map((_, i) => batch.firstIndex + i), batch.leafHashes.map(hex), batch.leaves.map(hex)],
  );
}

async function insertNodes(tx: Queryable, batch: AppendBatch): Promise<void> {
  await tx.query(
    `INSERT INTO tlog_nodes (level, idx, hash)
     SELECT t.level, t.idx, decode(t.h, 'hex') FROM unnest($1::smallint[], $2::bigint[], $3::text[]) AS t(level, idx, h)`,
    [batch.nodes.map((n) => n.level), batch.nodes.map((n) => n.index), batch.nodes.map((n) => hex(n.hash))],
  );
}
