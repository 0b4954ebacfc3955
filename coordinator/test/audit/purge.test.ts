import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BACKENDS, freshDatabase, type TestDb } from '../support/databases.js';
import {
  appendAuditEvent, AUDIT_RETENTION_ROLE, currentHead, purgeAuditEntries, verifyStoredChain,
} from '../../src/audit/index.js';
import { sampleEvent, testSigner, type TestSigner } from './support.js';

const YEAR = 365.25 * 86_400_000;
const OLD = Date.parse('2018-01-01T00:00:00.000Z');
const NOW = new Date(OLD + 7.5 * YEAR);

describe.each(BACKENDS)('retention purge on %s', (backend) => {
  let t: TestDb;
  let signer: TestSigner;
  beforeAll(async () => {
    t = await freshDatabase(backend);
    signer = await testSigner();
    // Ten events from 2018, then five from seven years later.
    for (let i = 0; i < 10; i++) await appendAuditEvent(t.db, sampleEvent(i, { time: new Date(OLD + i * 86_400_000).toISOString() }));
    for (let i = 0; i < 5; i++) await appendAuditEvent(t.db, sampleEvent(i, { time: new Date(NOW.getTime() - 86_400_000 + i * 1000).toISOString() }));
  }, 60_000);
  afterAll(async () => { await t.drop(); });

  const options = () => ({ role: AUDIT_RETENTION_ROLE as typeof AUDIT_RETENTION_ROLE, signer: signer.sign, actor: 'user:records-officer@coord', now: NOW });

  it('requires the explicit retention role', async () => {
    await expect(purgeAuditEntries(t.db, { ...options(), role: 'admin' as never, before: new Date(OLD + YEAR) })).rejects.toMatchObject({ code: 'AUDIT_PURGE_FORBIDDEN' });
  });

  it('refuses to purge anything younger than six years', async () => {
    await expect(purgeAuditEntries(t.db, { ...options(), before: new Date(NOW.getTime() - 5 * YEAR) })).rejects.toMatchObject({ code: 'AUDIT_PURGE_RETENTION' });
    await expect(purgeAuditEntries(t.db, { ...options(), before: new Date(OLD + YEAR), retentionDays: 30 })).rejects.toMatchObject({ code: 'AUDIT_PURGE_RETENTION' });
  });

  it('purges old entries, leaves a signed truncation anchor and an audit.purge event, and the chain verifies from the anchor', async () => {
    const headBefore = await currentHead(t.db);
    const result = await purgeAuditEntries(t.db, { ...options(), before: new Date(OLD + 7 * 86_400_000) });
    expect(result).toMatchObject({ throughSeq: 7, purged: 7 });
    const { rows } = await t.db.query<{ seq: number }>('SELECT seq FROM audit_events ORDER BY seq');
    expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: headBefore.seq - 7 + 1 }, (_, i) => i + 8));
    const last = await t.db.query<{ event: string }>('SELECT event FROM audit_events ORDER BY seq DESC LIMIT 1');
    expect(JSON.parse(last.rows[0]!.event)).toMatchObject({ action: 'audit.purge', details: { through_seq: 7, count: 7 } });

    const verdict = await verifyStoredChain(t.db, { jwks: signer.jwks });
    expect(verdict).toMatchObject({ ok: true, truncatedThrough: 7, summary: { firstSeq: 8 } });
    // Without the coordinator's keys the anchor cannot be trusted, so the chain does not verify.
    expect((await verifyStoredChain(t.db)).problem).toMatchObject({ code: 'AUDIT_TRUNCATION_INVALID' });
    const stranger = await testSigner('someone-else');
    expect((await verifyStoredChain(t.db, { jwks: stranger.jwks })).problem).toMatchObject({ code: 'AUDIT_TRUNCATION_INVALID', seq: 7 });
  });

  it('detects entries deleted after the anchor, even with the guard off', async () => {
    await t.db.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
    await t.db.query('DELETE FROM audit_events WHERE seq = 8');
    await t.db.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
    expect((await verifyStoredChain(t.db, { jwks: signer.jwks })).problem).toMatchObject({ code: 'AUDIT_SEQ_MISSING', seq: 8 });
  });
});

describe('database privileges for the application role (postgres)', () => {
  let t: TestDb;
  const role = `medfed_app_${Math.random().toString(36).slice(2, 10)}`;
  beforeAll(async () => {
    t = await freshDatabase('postgres');
    // The recommended production grants (docs/audit-format.md): append and read, nothing else.
    await t.db.query(`CREATE ROLE ${role} LOGIN`);
    await t.db.query(`GRANT SELECT, INSERT ON audit_events TO ${role}`);
    await t.db.query(`GRANT SELECT, UPDATE ON audit_head TO ${role}`);
    await t.db.query(`GRANT SELECT ON audit_anchors, audit_truncations TO ${role}`);
  }, 60_000);
  afterAll(async () => {
    await t.drop();
    const { default: pg } = await import('pg');
    const admin = new pg.Client({ connectionString: process.env.MEDFED_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test' });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });

  it('lets the role append, and refuses its UPDATE, DELETE and forged truncation anchors', async () => {
    const { openPostgres } = await import('../../src/storage/postgres.js');
    const url = new URL(t.url!);
    url.username = role;
    const app = openPostgres(url.toString(), { max: 2 });
    try {
      await appendAuditEvent(app, sampleEvent(1));
      await appendAuditEvent(app, sampleEvent(2));
      const codes = await Promise.all([
        app.query("UPDATE audit_events SET actor = 'x' WHERE seq = 1"),
        app.query('DELETE FROM audit_events WHERE seq = 1'),
        app.query("INSERT INTO audit_truncations (seq, hash, purged, jws, purged_at, purged_by) VALUES (1, repeat('0', 64), 1, 'x', now(), 'x')"),
      ].map((p) => p.then(() => 'NOT_REFUSED', (e: { code?: string }) => e.code)));
      expect(codes).toEqual(['42501', '42501', '42501']);
      expect((await verifyStoredChain(app)).summary.entries).toBe(2);
    } finally {
      await app.close();
    }
  });

  it('purges only through the privileged function, once granted, and never a range without its anchor', async () => {
    const { openPostgres } = await import('../../src/storage/postgres.js');
    const url = new URL(t.url!);
    url.username = role;
    const app = openPostgres(url.toString(), { max: 2 });
    const signer = await testSigner();
    const purge = () => purgeAuditEntries(app, {
      role: AUDIT_RETENTION_ROLE, signer: signer.sign, actor: 'user:records-officer@coord', before: new Date(Date.now() - 1), force: true,
    });
    try {
      const first = (await app.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_events ORDER BY seq LIMIT 1')).rows[0]!;
      // Without EXECUTE the application role cannot purge at all.
      await expect(purge()).rejects.toMatchObject({ code: 'AUDIT_STORE_CORRUPT' });
      await t.db.query(`GRANT EXECUTE ON FUNCTION medfed_audit_purge(bigint, text, bigint, text, timestamptz, text) TO ${role}`);
      // The function refuses an anchor that does not name an entry of the chain, or a non-prefix range.
      const call = (through: number, hash: string, count: number) => app.query('SELECT medfed_audit_purge($1, $2, $3, $4, now(), $5)', [through, hash, count, 'a.b.c', 'x'])
        .then(() => 'NOT_REFUSED', (e: { code?: string }) => e.code);
      expect(await call(Number(first.seq), 'f'.repeat(64), 1)).toBe('22023');
      expect(await call(Number(first.seq), first.hash, 5)).toBe('22023');
      expect(await app.query('DELETE FROM audit_events WHERE seq = $1', [first.seq]).then(() => 'NOT_REFUSED', (e: { code?: string }) => e.code)).toBe('42501');
      const before = (await app.query<{ n: string }>('SELECT count(*) AS n FROM audit_events')).rows[0]!.n;
      const result = await purge();
      expect(result).toMatchObject({ purged: Number(before) });
      const verdict = await verifyStoredChain(app, { jwks: signer.jwks });
      expect(verdict).toMatchObject({ ok: true, truncatedThrough: result!.throughSeq });
      const last = JSON.parse((await app.query<{ event: string }>('SELECT event FROM audit_events ORDER BY seq DESC LIMIT 1')).rows[0]!.event) as { action: string; details: Record<string, unknown> };
      expect(last).toMatchObject({ action: 'audit.purge', details: { reason: 'RETENTION_OVERRIDE', count: Number(before) } });
    } finally {
      await app.close();
    }
  });
});
