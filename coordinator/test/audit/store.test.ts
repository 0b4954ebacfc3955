import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { chainHashOfCanonical, canonicalJson, toAuditEvent, type AuditEntry } from '@medfed/proto/audit/index';
import { BACKENDS, freshDatabase, type TestDb } from '../support/databases.js';
import { appendAuditEvent, appendInTransaction, currentHead, verifyStoredChain } from '../../src/audit/index.js';
import { sampleEvent } from './support.js';

const N = 12;

async function fill(t: TestDb, n = N) {
  const entries = [];
  for (let i = 1; i <= n; i++) entries.push(await appendAuditEvent(t.db, sampleEvent(i)));
  return entries;
}

/** Puts the audit tables back to exactly `entries` (one database serves every test: PGlite starts slowly). */
async function restore(t: TestDb, entries: readonly AuditEntry[]) {
  const tables = ['audit_events', 'audit_head', 'audit_anchors', 'audit_truncations'];
  for (const table of tables) await t.db.query(`ALTER TABLE ${table} DISABLE TRIGGER USER`);
  try {
    await t.db.query('DELETE FROM audit_events');
    await t.db.query('DELETE FROM audit_anchors');
    await t.db.query('DELETE FROM audit_truncations');
    for (const e of entries) {
      const { prev_hash, hash, ...event } = e;
      await t.db.query(`INSERT INTO audit_events (seq, at, action, actor, role, site, job, outcome, event, prev_hash, hash)
        VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, $9, $10)`, [e.seq, e.time, e.action, e.actor, e.role, e.site, e.outcome, canonicalJson(event), prev_hash, hash]);
    }
    const last = entries[entries.length - 1];
    await t.db.query('UPDATE audit_head SET seq = $1, hash = $2', [last?.seq ?? 0, last?.hash ?? '0'.repeat(64)]);
  } finally {
    for (const table of tables) await t.db.query(`ALTER TABLE ${table} ENABLE TRIGGER USER`);
  }
}

/** What an attacker with the table owner's rights can do: switch the guard off and edit rows. */
async function asOwner(t: TestDb, sql: string, params: unknown[] = []) {
  await t.db.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
  try {
    await t.db.query(sql, params);
  } finally {
    await t.db.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
  }
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code ?? 'NO_CODE';
  }
  return 'NOT_REFUSED';
}

describe.each(BACKENDS)('audit store on %s', (backend) => {
  let t: TestDb;
  let entries: AuditEntry[];
  beforeAll(async () => {
    t = await freshDatabase(backend);
    entries = await fill(t);
  }, 60_000);
  afterEach(async () => { await restore(t, entries); });
  afterAll(async () => { await t.drop(); });

  it('appends a hash chain whose head and every entry verify', async () => {
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(entries[0]!.prev_hash).toBe('0'.repeat(64));
    for (const [i, e] of entries.entries()) {
      const { prev_hash, hash, ...event } = e;
      expect(hash).toBe(chainHashOfCanonical(prev_hash, canonicalJson(event)));
      if (i > 0) expect(prev_hash).toBe(entries[i - 1]!.hash);
    }
    expect(await currentHead(t.db)).toEqual({ seq: N, hash: entries[N - 1]!.hash });
    const verdict = await verifyStoredChain(t.db, { pageSize: 5 });
    expect(verdict.ok).toBe(true);
    expect(verdict.summary).toMatchObject({ entries: N, firstSeq: 1, lastSeq: N });
  });

  it('stores the exact JCS bytes that the hash covers', async () => {
    const e = entries[0]!;
    const { rows } = await t.db.query<{ event: string }>('SELECT event FROM audit_events WHERE seq = 1');
    const { prev_hash: _p, hash: _h, ...event } = e;
    expect(rows[0]!.event).toBe(canonicalJson(event));
  });

  it('refuses UPDATE, DELETE and TRUNCATE by the application role', async () => {
    await t.db.query('INSERT INTO audit_anchors (seq, hash, leaf_index, checkpoint, anchored_at) VALUES (2, $1, 0, NULL, now())', [entries[1]!.hash]);
    await t.db.query("INSERT INTO audit_truncations (seq, hash, purged, jws, purged_at, purged_by) VALUES (1, $1, 1, 'x.y.z', now(), 'test')", [entries[0]!.hash]);
    const refused = [
      await refusal(t.db.query("UPDATE audit_events SET actor = 'user:eve' WHERE seq = 2")),
      await refusal(t.db.query('DELETE FROM audit_events WHERE seq = 3')),
      await refusal(t.db.query('TRUNCATE audit_events')),
      await refusal(t.db.query('DELETE FROM audit_anchors')),
      await refusal(t.db.query('DELETE FROM audit_truncations')),
      await refusal(t.db.query('UPDATE audit_head SET seq = 1, hash = (SELECT hash FROM audit_events WHERE seq = 1)')),
      await refusal(t.db.query('DELETE FROM audit_head')),
    ];
    expect(refused).toEqual(Array(7).fill('42501'));
    const { rows } = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_events');
    expect(rows[0]!.n).toBe(N);
    const { rows: kept } = await t.db.query<{ a: number; t: number }>('SELECT (SELECT count(*)::int FROM audit_anchors) AS a, (SELECT count(*)::int FROM audit_truncations) AS t');
    expect(kept[0]).toEqual({ a: 1, t: 1 });
  });

  it('refuses a DELETE that sets the purge switch itself without a signed truncation anchor', async () => {
    const code = await refusal(t.db.transaction(async (tx) => {
      await tx.query("SELECT set_config('medfed.audit_purge_through', '2', true)");
      await tx.query('DELETE FROM audit_events WHERE seq <= 2');
    }));
    expect(code).toBe('42501');
  });

  it('commits an action and its event together, or neither', async () => {
    await t.db.query("INSERT INTO sites (id, display_name) VALUES ('site-a', 'A')");
    await expect(t.db.transaction(async (tx) => {
      await tx.query("UPDATE sites SET status = 'suspended' WHERE id = 'site-a'");
      await appendInTransaction(tx, { actor: 'user:admin@coord', role: 'admin', site: 'site-a', action: 'site.suspend', resource: 'site:site-a', outcome: 'success', rule: 'rbac:admin/site.suspend' });
      throw new Error('the action fails after its event was appended');
    })).rejects.toThrow('the action fails');
    expect((await currentHead(t.db)).seq).toBe(N);
    const entry = await t.db.transaction(async (tx) => {
      await tx.query("UPDATE sites SET status = 'suspended' WHERE id = 'site-a'");
      return appendInTransaction(tx, { actor: 'user:admin@coord', role: 'admin', site: 'site-a', action: 'site.suspend', resource: 'site:site-a', outcome: 'success', rule: 'rbac:admin/site.suspend' });
    });
    expect(entry.seq).toBe(N + 1);
    expect((await verifyStoredChain(t.db)).ok).toBe(true);
    const { rows } = await t.db.query<{ status: string }>("SELECT status FROM sites WHERE id = 'site-a'");
    expect(rows[0]!.status).toBe('suspended');
  });

  it('fails closed: an invalid event aborts the action\'s transaction', async () => {
    await t.db.query("INSERT INTO sites (id, display_name) VALUES ('site-b', 'B')");
    const err = await t.db.transaction(async (tx) => {
      await tx.query("UPDATE sites SET status = 'suspended' WHERE id = 'site-b'");
      await appendInTransaction(tx, { actor: 'user:admin@coord', role: 'admin', action: 'site.suspend', resource: 'site:site-b', outcome: 'success', rule: 'r', details: { note: 'free text' } as never });
    }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('AUDIT_DETAIL_NOT_ALLOWED');
    const { rows } = await t.db.query<{ status: string }>("SELECT status FROM sites WHERE id = 'site-b'");
    expect(rows[0]!.status).toBe('registered');
  });

  describe('tampering in the database is found at the first affected event', () => {
    it('an edited event', async () => {
      await asOwner(t, "UPDATE audit_events SET event = replace(event, 'req-5', 'req-X') WHERE seq = 5");
      expect((await verifyStoredChain(t.db)).problem).toMatchObject({ code: 'AUDIT_HASH_MISMATCH', seq: 5 });
    });

    it('an edited event with its hash recomputed', async () => {
      const forged = { ...toAuditEvent(sampleEvent(5), 5), request_id: 'req-X' };
      const jcs = canonicalJson(forged);
      await asOwner(t, 'UPDATE audit_events SET event = $1, hash = $2 WHERE seq = 5', [jcs, chainHashOfCanonical(entries[3]!.hash, jcs)]);
      expect((await verifyStoredChain(t.db)).problem).toMatchObject({ code: 'AUDIT_CHAIN_BROKEN', seq: 6 });
    });

    it('a deleted event', async () => {
      await asOwner(t, 'DELETE FROM audit_events WHERE seq = 7');
      expect((await verifyStoredChain(t.db)).problem).toMatchObject({ code: 'AUDIT_SEQ_MISSING', seq: 7 });
    });

    it('two reordered events', async () => {
      // Swap the content of rows 4 and 5 (the seq column stays in order).
      await asOwner(t, `UPDATE audit_events a SET event = b.event, prev_hash = b.prev_hash, hash = b.hash
        FROM audit_events b WHERE (a.seq, b.seq) IN ((4, 5), (5, 4))`);
      expect((await verifyStoredChain(t.db)).problem).toMatchObject({ code: 'AUDIT_SEQ_MISSING', seq: 4 });
    });

    it('an inserted, correctly linked event', async () => {
      // Shift seq 6..N up by one (highest first) and slip a forged seq 6 in, linked to seq 5.
      await t.db.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
      for (let s = N; s >= 6; s--) await t.db.query('UPDATE audit_events SET seq = seq + 1 WHERE seq = $1', [s]);
      const forged = toAuditEvent(sampleEvent(99, { actor: 'user:eve@elsewhere' }), 6);
      const jcs = canonicalJson(forged);
      await t.db.query(`INSERT INTO audit_events (seq, at, action, actor, role, site, job, outcome, event, prev_hash, hash)
        VALUES (6, $1, $2, $3, $4, $5, NULL, $6, $7, $8, $9)`,
      [forged.time, forged.action, forged.actor, forged.role, forged.site, forged.outcome, jcs, entries[4]!.hash, chainHashOfCanonical(entries[4]!.hash, jcs)]);
      await t.db.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
      // The forgery itself verifies locally; the original seq 6, now one row later, gives it away.
      expect((await verifyStoredChain(t.db)).problem).toMatchObject({ code: 'AUDIT_SEQ_OUT_OF_ORDER', seq: 6 });
    });

    it('a truncated tail', async () => {
      await asOwner(t, 'DELETE FROM audit_events WHERE seq >= 10');
      expect((await verifyStoredChain(t.db)).problem).toMatchObject({ code: 'AUDIT_CHAIN_END_MISMATCH', seq: 10 });
    });

    it('a truncated head with no signed anchor', async () => {
      await asOwner(t, 'DELETE FROM audit_events WHERE seq <= 3');
      expect((await verifyStoredChain(t.db)).problem).toMatchObject({ code: 'AUDIT_SEQ_MISSING', seq: 1 });
    });
  });
});
