import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  MemoryTreeStore,
  MerkleLog,
  planAppend,
  hashLeaf,
  verifyInclusion,
  verifyConsistency,
  EMPTY_ROOT_HASH,
  type AppendBatch,
} from '@medfed/proto/tlog/index';
import { BACKENDS, freshDatabase, type TestDb } from '../support/databases.js';
import { SqlTreeStore } from '../../src/tlog/sql-tree-store.js';

const leaf = (i: number) => Buffer.from(`manifest-${i}`);
const hex = (h: Uint8Array) => Buffer.from(h).toString('hex');

describe.each(BACKENDS)('SqlTreeStore on %s', (backend) => {
  let t: TestDb;
  beforeAll(async () => { t = await freshDatabase(backend); });
  afterAll(async () => { await t.drop(); });

  it('starts as the empty tree', async () => {
    const head = await new SqlTreeStore(t.db).readHead();
    expect(head.size).toBe(0);
    expect(hex(head.rootHash)).toBe(hex(EMPTY_ROOT_HASH));
    expect(head.frontier).toEqual([]);
  });

  it('stores the same tree as the in-memory reference, and serves identical proofs', async () => {
    const sql = new MerkleLog(new SqlTreeStore(t.db));
    const mem = new MerkleLog(new MemoryTreeStore());
    // Uneven batches, single appends among them.
    const batches = [1, 1, 5, 17, 1, 64, 3, 100, 1, 40];
    let n = 0;
    for (const size of batches) {
      const data = Array.from({ length: size }, () => leaf(n++));
      const [a, b] = [await sql.append(data), await mem.append(data)];
      expect(a.firstIndex).toBe(b.firstIndex);
      expect(hex(a.rootHash)).toBe(hex(b.rootHash));
    }
    const size = (await sql.head()).size;
    expect(size).toBe(233);
    for (const [index, treeSize] of [[0, 1], [0, 233], [232, 233], [100, 128], [127, 129], [57, 200]] as const) {
      const proof = await sql.inclusionProof(index, treeSize);
      expect(proof.map(hex)).toEqual((await mem.inclusionProof(index, treeSize)).map(hex));
      verifyInclusion(index, treeSize, hashLeaf(leaf(index)), proof, await sql.rootAt(treeSize));
    }
    for (const [s1, s2] of [[1, 233], [7, 8], [64, 233], [100, 200], [233, 233]] as const) {
      const proof = await sql.consistencyProof(s1, s2);
      expect(proof.map(hex)).toEqual((await mem.consistencyProof(s1, s2)).map(hex));
      verifyConsistency(s1, s2, proof, await sql.rootAt(s1), await sql.rootAt(s2));
    }
    expect(Buffer.from((await sql.leaf(57))!)).toEqual(leaf(57));
    expect(await sql.store.findLeaf(hashLeaf(leaf(57)))).toBe(57);
    expect(await sql.store.findLeaf(hashLeaf(Buffer.from('never appended')))).toBeUndefined();
  });

  it('appends atomically: a batch that fails part-way leaves no leaf, node or head change behind', async () => {
    const store = new SqlTreeStore(t.db);
    const before = await store.readHead();
    const poisoned = (head: Parameters<typeof planAppend>[0]): AppendBatch => {
      const batch = planAppend(head, [leaf(1000), leaf(1001)]);
      // A node the schema refuses (level out of range) makes the second INSERT fail inside the transaction.
      return { ...batch, nodes: [...batch.nodes, { level: 99, index: 0, hash: new Uint8Array(32) }] };
    };
    await expect(store.append(poisoned)).rejects.toThrow();
    const after = await store.readHead();
    expect(after.size).toBe(before.size);
    expect(hex(after.rootHash)).toBe(hex(before.rootHash));
    expect(await store.readLeaf(before.size)).toBeUndefined();
    const { rows } = await t.db.query<{ n: number | string }>('SELECT count(*) AS n FROM tlog_nodes WHERE level = 0 AND idx >= $1', [before.size]);
    expect(Number(rows[0]!.n)).toBe(0);
  });

  it('refuses a plan made from a stale head (TLOG_STORE_CONFLICT)', async () => {
    const store = new SqlTreeStore(t.db);
    const stale = await store.readHead();
    await store.append((h) => planAppend(h, [leaf(2000)]));
    await expect(store.append(() => planAppend(stale, [leaf(2001)]))).rejects.toMatchObject({ code: 'TLOG_STORE_CONFLICT' });
  });

  it('is append-only: updates, deletes and truncation of leaves and nodes are refused by the database', async () => {
    await expect(t.db.query('UPDATE tlog_leaves SET data = $1 WHERE idx = 0', [Buffer.from('rewritten')])).rejects.toThrow(/append-only/);
    await expect(t.db.query('DELETE FROM tlog_nodes WHERE level = 0 AND idx = 0')).rejects.toThrow(/append-only/);
    await expect(t.db.query('TRUNCATE tlog_leaves')).rejects.toThrow(/append-only/);
    expect(Buffer.from((await new SqlTreeStore(t.db).readLeaf(0))!)).toEqual(leaf(0));
  });

  it('serialises concurrent appenders: every leaf gets its own index and the tree stays consistent', async () => {
    const store = new SqlTreeStore(t.db);
    const start = (await store.readHead()).size;
    const logs = [new MerkleLog(store), new MerkleLog(new SqlTreeStore(t.db))];
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => logs[i % 2]!.append([leaf(3000 + i)])));
    const indices = results.map((r) => r.firstIndex).sort((a, b) => a - b);
    expect(indices).toEqual(Array.from({ length: 24 }, (_, i) => start + i));
    const reference = new MerkleLog(new MemoryTreeStore());
    for (let i = 0; i < start + 24; i++) await reference.append([(await logs[0]!.leaf(i))!]);
    expect(hex((await logs[0]!.head()).rootHash)).toBe(hex((await reference.head()).rootHash));
  });
});
