import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { openPostgres } from '../../src/storage/postgres.js';
import { BACKENDS, freshDatabase, type TestDb } from '../support/databases.js';
import { AuditWriter, currentHead, verifyStoredChain } from '../../src/audit/index.js';
import { sampleEvent } from './support.js';

async function requestIds(t: TestDb): Promise<string[]> {
  const { rows } = await t.db.query<{ event: string }>('SELECT event FROM audit_events ORDER BY seq');
  return rows.map((r) => (JSON.parse(r.event) as { request_id: string }).request_id);
}

describe.each(BACKENDS)('AuditWriter on %s', (backend) => {
  let t: TestDb;
  beforeAll(async () => { t = await freshDatabase(backend); }, 60_000);
  afterAll(async () => { await t.drop(); });

  it('batches concurrent appends into few transactions and resolves each with its durable entry', async () => {
    const before = (await currentHead(t.db)).seq;
    const batches: number[] = [];
    const writer = new AuditWriter(t.db, { onCommit: (_head, entries) => batches.push(entries.length) });
    const entries = await Promise.all(Array.from({ length: 150 }, (_, i) => writer.append(sampleEvent(i, { request_id: `batch-${i}` }))));
    await writer.close();
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 150 }, (_, i) => before + i + 1));
    expect(batches.reduce((a, b) => a + b, 0)).toBe(150);
    expect(batches.length).toBeLessThan(10);
    // Resolved means committed: every entry is readable with the hash it was resolved with.
    const { rows } = await t.db.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_events WHERE seq > $1 ORDER BY seq', [before]);
    expect(rows.map((r) => [Number(r.seq), r.hash])).toEqual(entries.map((e) => [e.seq, e.hash]));
    expect((await verifyStoredChain(t.db)).ok).toBe(true);
  });

  it('records exactly one event per successful action and none for failed ones, chain intact', async () => {
    // A real storage failure: the database refuses rows marked "fail-", so the whole batch holding one rolls back.
    await t.db.query(`CREATE OR REPLACE FUNCTION audit_test_fail_marked() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.event LIKE '%"request_id":"fail-%' THEN RAISE EXCEPTION 'simulated storage failure'; END IF; RETURN NEW; END $$`);
    await t.db.query('CREATE TRIGGER audit_test_fail BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_test_fail_marked()');
    try {
      const before = new Set(await requestIds(t));
      const writer = new AuditWriter(t.db, { maxBatch: 7 });
      const completed: string[] = [];
      const failed: string[] = [];
      const failureCodes = new Set<string>();
      // An "action" completes only if its event is durable; otherwise it fails (fail closed).
      const action = async (id: string) => {
        try {
          await writer.append(sampleEvent(id.length, { request_id: id }));
          completed.push(id);
        } catch (err) {
          failureCodes.add((err as { code?: string }).code ?? 'NO_CODE');
          failed.push(id);
        }
      };
      const waves: Promise<void>[] = [];
      for (let wave = 0; wave < 6; wave++) {
        for (let i = 0; i < 25; i++) waves.push(action(i % 11 === 5 ? `fail-${wave}-${i}` : `ok-${wave}-${i}`));
        await new Promise((r) => setImmediate(r));
      }
      await Promise.all(waves);
      await writer.close();
      const stored = (await requestIds(t)).filter((id) => !before.has(id));
      expect(completed.length).toBeGreaterThan(0);
      expect([...failureCodes]).toEqual(['AUDIT_WRITE_FAILED']);
      expect(failed.filter((id) => id.startsWith('ok-')).length).toBeGreaterThan(0); // innocent neighbours of a failing batch fail too
      expect(stored.sort()).toEqual([...completed].sort());
      expect(stored.filter((id) => failed.includes(id))).toEqual([]);
      expect(completed.length + failed.length).toBe(150);
      const verdict = await verifyStoredChain(t.db);
      expect(verdict.ok).toBe(true);
    } finally {
      await t.db.query('DROP TRIGGER audit_test_fail ON audit_events');
    }
  });

  it('rejects an invalid event alone, before it reaches a batch', async () => {
    const writer = new AuditWriter(t.db);
    const results = await Promise.allSettled([
      writer.append(sampleEvent(1, { request_id: 'valid-1' })),
      writer.append({ ...sampleEvent(2), details: { patient: 'x' } as never }),
      writer.append(sampleEvent(3, { request_id: 'valid-3' })),
    ]);
    await writer.close();
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(((results[1] as PromiseRejectedResult).reason as { code: string }).code).toBe('AUDIT_DETAIL_NOT_ALLOWED');
  });

  it('refuses appends once closed', async () => {
    const writer = new AuditWriter(t.db);
    await writer.close();
    await expect(writer.append(sampleEvent(1))).rejects.toMatchObject({ code: 'AUDIT_WRITER_CLOSED' });
  });
});

describe('AuditWriter across connections (postgres)', () => {
  let t: TestDb;
  beforeAll(async () => { t = await freshDatabase('postgres'); }, 60_000);
  afterAll(async () => { await t.drop(); });

  it('keeps one contiguous chain when two processes append at once (the head row lock serialises them)', async () => {
    const other = openPostgres(t.url!, { max: 3 });
    try {
      const a = new AuditWriter(t.db, { maxBatch: 5 });
      const b = new AuditWriter(other, { maxBatch: 5 });
      const all = await Promise.all(Array.from({ length: 80 }, (_, i) => (i % 2 ? a : b).append(sampleEvent(i, { request_id: `x-${i}` }))));
      await Promise.all([a.close(), b.close()]);
      expect(all.map((e) => e.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
      expect((await verifyStoredChain(t.db)).ok).toBe(true);
    } finally {
      await other.close();
    }
  });

  it('fails closed when the database is gone', async () => {
    const gone = openPostgres(t.url!, { max: 1 });
    await gone.close();
    const writer = new AuditWriter(gone);
    await expect(writer.append(sampleEvent(1))).rejects.toMatchObject({ code: 'AUDIT_WRITE_FAILED' });
  });
});
