import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { anchorLeafBytes, canonicalJson, chainHashOfCanonical, eventOf, type AnchorRecord } from '@medfed/proto/audit/index';
import { BACKENDS, freshDatabase, type TestDb } from '../support/databases.js';
import { appendAuditEvent, AuditAnchorer, currentHead, verifyStoredChain } from '../../src/audit/index.js';
import { memoryLog, sampleEvent } from './support.js';

describe.each(BACKENDS)('AuditAnchorer on %s', (backend) => {
  let t: TestDb;
  beforeAll(async () => { t = await freshDatabase(backend); }, 60_000);
  afterAll(async () => { await t.drop(); });

  it('anchors at most once per interval, only while events arrive, and records each anchor', async () => {
    const log = memoryLog();
    let clock = Date.parse('2025-03-01T08:00:00.000Z');
    const seen: AnchorRecord[] = [];
    const anchorer = new AuditAnchorer({ db: t.db, appendLeaf: log.appendLeaf, intervalMs: 60_000, now: () => new Date(clock), onAnchor: (a) => seen.push(a) });

    expect(await anchorer.tick()).toBeNull(); // empty chain: nothing to anchor
    for (let i = 1; i <= 3; i++) await appendAuditEvent(t.db, sampleEvent(i));
    const first = await anchorer.tick();
    expect(first).toMatchObject({ seq: 3, leaf_index: 0 });
    expect(log.leaves[0]!.equals(Buffer.from(anchorLeafBytes(await currentHead(t.db))))).toBe(true);

    await appendAuditEvent(t.db, sampleEvent(4));
    clock += 30_000;
    expect(await anchorer.tick()).toBeNull(); // within the interval
    clock += 31_000;
    expect(await anchorer.tick()).toMatchObject({ seq: 4, leaf_index: 1 });
    clock += 61_000;
    expect(await anchorer.tick()).toBeNull(); // no new events
    expect(log.leaves).toHaveLength(2);
    expect(seen.map((a) => a.seq)).toEqual([3, 4]);

    const { rows } = await t.db.query<{ seq: number; leaf_index: number; checkpoint: string }>('SELECT seq, leaf_index, checkpoint FROM audit_anchors ORDER BY seq');
    expect(rows.map((r) => [Number(r.seq), Number(r.leaf_index)])).toEqual([[3, 0], [4, 1]]);
    expect(JSON.parse(rows[1]!.checkpoint)).toEqual(log.checkpoint());
    expect((await verifyStoredChain(t.db)).ok).toBe(true);
  });

  it('resumes from the recorded anchors after a restart', async () => {
    const log = memoryLog();
    const anchorer = new AuditAnchorer({ db: t.db, appendLeaf: log.appendLeaf });
    expect(await anchorer.anchorNow()).toBeNull();
    expect(log.leaves).toHaveLength(0);
  });

  it('reports a log failure as AUDIT_ANCHOR_FAILED and records nothing', async () => {
    await appendAuditEvent(t.db, sampleEvent(5));
    const anchorer = new AuditAnchorer({ db: t.db, appendLeaf: async () => { throw new Error('log unavailable'); } });
    await expect(anchorer.anchorNow()).rejects.toMatchObject({ code: 'AUDIT_ANCHOR_FAILED' });
    const { rows } = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_anchors WHERE seq = 5');
    expect(rows[0]!.n).toBe(0);
  });

  it('catches a history rewritten consistently from seq 2 through the anchor at seq 3', async () => {
    const { rows } = await t.db.query<{ seq: number; event: string }>('SELECT seq, event FROM audit_events ORDER BY seq');
    await t.db.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
    await t.db.query('ALTER TABLE audit_head DISABLE TRIGGER USER');
    try {
      let prev: string | null = null;
      for (const r of rows) {
        const event = JSON.parse(r.event) as Record<string, unknown>;
        if (Number(r.seq) === 1) { prev = (await t.db.query<{ hash: string }>('SELECT hash FROM audit_events WHERE seq = 1')).rows[0]!.hash; continue; }
        const forged = Number(r.seq) === 2 ? { ...event, actor: 'user:eve@elsewhere' } : event;
        const jcs = canonicalJson(eventOf(forged));
        const hash = chainHashOfCanonical(prev!, jcs);
        await t.db.query('UPDATE audit_events SET event = $1, prev_hash = $2, hash = $3 WHERE seq = $4', [jcs, prev, hash, r.seq]);
        await t.db.query('UPDATE audit_head SET hash = $1 WHERE seq = $2', [hash, r.seq]);
        prev = hash;
      }
    } finally {
      await t.db.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
      await t.db.query('ALTER TABLE audit_head ENABLE TRIGGER USER');
    }
    expect((await verifyStoredChain(t.db)).problem).toMatchObject({ code: 'AUDIT_ANCHOR_MISMATCH', seq: 3 });
  });
});
