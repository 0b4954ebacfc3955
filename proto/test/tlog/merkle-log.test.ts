import { describe, expect, it } from '@jest/globals';
import { EMPTY_ROOT_HASH, MemoryTreeStore, MerkleLog, hashLeaf, planAppend, verifyConsistency, verifyInclusion, EMPTY_TREE_HEAD } from '../../src/tlog/index.js';

const data = (i: number) => Buffer.from(`entry-${i}`);

describe('MerkleLog over MemoryTreeStore', () => {
  it('gives the same tree whether leaves arrive one by one or in batches', async () => {
    const single = new MerkleLog(new MemoryTreeStore());
    const batched = new MerkleLog(new MemoryTreeStore());
    for (let i = 0; i < 37; i++) await single.append([data(i)]);
    await batched.append(Array.from({ length: 10 }, (_, i) => data(i)));
    await batched.append(Array.from({ length: 27 }, (_, i) => data(i + 10)));
    const [a, b] = [await single.head(), await batched.head()];
    expect(a.size).toBe(37);
    expect(Buffer.from(a.rootHash)).toEqual(Buffer.from(b.rootHash));
    expect(a.frontier.map((h) => Buffer.from(h).toString('hex'))).toEqual(b.frontier.map((h) => Buffer.from(h).toString('hex')));
  });

  it('starts empty with the RFC 6962 empty root and reports appended indices', async () => {
    const log = new MerkleLog(new MemoryTreeStore());
    expect(Buffer.from((await log.head()).rootHash)).toEqual(Buffer.from(EMPTY_ROOT_HASH));
    expect((await log.append([data(0), data(1)])).firstIndex).toBe(0);
    expect((await log.append([data(2)])).firstIndex).toBe(2);
    expect(Buffer.from((await log.leaf(2))!)).toEqual(data(2));
    expect(await log.store.findLeaf(hashLeaf(data(1)))).toBe(1);
    expect(await log.store.findLeaf(hashLeaf(Buffer.from('absent')))).toBeUndefined();
  });

  it('serialises concurrent appends: no index is handed out twice', async () => {
    const log = new MerkleLog(new MemoryTreeStore());
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append([data(i)])));
    expect(new Set(results.map((r) => r.firstIndex)).size).toBe(50);
    expect((await log.head()).size).toBe(50);
    for (const r of results) {
      const leaf = await log.leaf(r.firstIndex);
      verifyInclusion(r.firstIndex, 50, hashLeaf(leaf!), await log.inclusionProof(r.firstIndex), (await log.head()).rootHash);
    }
  });

  it('proves old checkpoints against later ones after more appends', async () => {
    const log = new MerkleLog(new MemoryTreeStore());
    await log.append(Array.from({ length: 13 }, (_, i) => data(i)));
    const old = await log.head();
    await log.append(Array.from({ length: 20 }, (_, i) => data(13 + i)));
    const now = await log.head();
    verifyConsistency(old.size, now.size, await log.consistencyProof(old.size), old.rootHash, now.rootHash);
    verifyInclusion(5, old.size, hashLeaf(data(5)), await log.inclusionProof(5, old.size), old.rootHash);
    expect(Buffer.from(await log.rootAt(old.size))).toEqual(Buffer.from(old.rootHash));
  });

  it.each([
    ['an index beyond the tree', (log: MerkleLog) => log.inclusionProof(4, 4)],
    ['a size beyond the log', (log: MerkleLog) => log.inclusionProof(0, 5)],
    ['a negative index', (log: MerkleLog) => log.inclusionProof(-1)],
    ['a consistency proof backwards', (log: MerkleLog) => log.consistencyProof(4, 3)],
    ['a consistency proof to the future', (log: MerkleLog) => log.consistencyProof(1, 9)],
    ['a root of a future size', (log: MerkleLog) => log.rootAt(5)],
    ['a fractional size', (log: MerkleLog) => log.rootAt(1.5)],
  ])('refuses %s with TLOG_INDEX_OUT_OF_RANGE', async (_name, call) => {
    const log = new MerkleLog(new MemoryTreeStore());
    await log.append([data(0), data(1), data(2), data(3)]);
    await expect(call(log)).rejects.toMatchObject({ code: 'TLOG_INDEX_OUT_OF_RANGE' });
  });

  it('plans an append from the frontier alone and refuses a frontier that does not fit the size', () => {
    const batch = planAppend(EMPTY_TREE_HEAD, [data(0), data(1), data(2)]);
    // leaves 0,1,2 plus the parent of 0 and 1
    expect(batch.nodes.map((n) => `${n.level}/${n.index}`)).toEqual(['0/0', '0/1', '1/0', '0/2']);
    expect(batch.head.frontier).toHaveLength(2);
    expect(() => planAppend({ ...batch.head, frontier: batch.head.frontier.slice(1) }, [data(3)])).toThrow(expect.objectContaining({ code: 'TLOG_NODE_MISSING' }));
  });

  it('refuses a stale plan (TLOG_STORE_CONFLICT) and leaves the store unchanged', async () => {
    const store = new MemoryTreeStore();
    await store.append((h) => planAppend(h, [data(0)]));
    await expect(store.append(() => planAppend(EMPTY_TREE_HEAD, [data(9)]))).rejects.toMatchObject({ code: 'TLOG_STORE_CONFLICT' });
    expect((await store.readHead()).size).toBe(1);
    expect(Buffer.from((await store.readLeaf(0))!)).toEqual(data(0));
  });
});
