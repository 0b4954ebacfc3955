import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AUDIT_BUNDLE_FILES, canonicalJson, chainHash, eventOf, packTarGz, readTarGz, verifyAuditBundle,
  type AuditEntry, type BundleManifest, type TlogEvidenceVerifier,
} from '@medfed/proto/audit/index';
import { BACKENDS, freshDatabase, type TestDb } from '../support/databases.js';
import { appendAuditEvent, AuditAnchorer, exportAuditBundle, verifyStoredChain } from '../../src/audit/index.js';
import { memoryLog, sampleEvent, T0, testSigner, type TestSigner } from './support.js';

const N = 40;
const requester = { actor: 'user:auditor@coord', role: 'auditor', rule: 'rbac:auditor/audit.export', requestId: 'req-export' };

async function unpack(file: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  await readTarGz(file, ({ name }) => {
    const chunks: Buffer[] = [];
    return { onData: (c) => chunks.push(c), onEnd: () => files.set(name, Buffer.concat(chunks)) };
  });
  return files;
}

async function repack(files: Map<string, Buffer>, dir: string, name: string): Promise<string> {
  const work = await mkdtemp(join(dir, 'repack-'));
  const order = AUDIT_BUNDLE_FILES.map((f) => f.name as string).filter((n) => files.has(n));
  for (const n of order) await writeFile(join(work, n), files.get(n)!);
  const out = join(dir, name);
  await packTarGz(work, order, out);
  return out;
}

const linesOf = (files: Map<string, Buffer>) => files.get('events.ndjson')!.toString('utf8').split('\n').filter(Boolean);
const withLines = (files: Map<string, Buffer>, lines: string[]) => new Map(files).set('events.ndjson', Buffer.from(lines.map((l) => `${l}\n`).join('')));

describe.each(BACKENDS)('audit export on %s', (backend) => {
  let t: TestDb;
  let signer: TestSigner;
  let dir: string;
  let full: string;
  let log: ReturnType<typeof memoryLog>;
  beforeAll(async () => {
    t = await freshDatabase(backend);
    signer = await testSigner();
    dir = await mkdtemp(join(tmpdir(), 'medfed-audit-test-'));
    log = memoryLog();
    let clock = T0;
    const anchorer = new AuditAnchorer({ db: t.db, appendLeaf: log.appendLeaf, now: () => new Date(clock) });
    for (let i = 1; i <= N; i++) {
      await appendAuditEvent(t.db, sampleEvent(i));
      if (i % 15 === 0) { clock += 61_000; await anchorer.tick(); }
    }
    full = join(dir, 'full.tar.gz');
    await exportAuditBundle(t.db, {
      filter: {}, out: full, signer: signer.sign, jwks: signer.jwks, requestedBy: requester,
      tlogEvidence: async (anchors) => ({ checkpoints: [log.checkpoint()], proofs: anchors.map((a) => ({ leaf_index: a.leaf_index, leaf_hex: Buffer.from(log.leaves[a.leaf_index]!).toString('hex') })) }),
    });
  }, 120_000);
  afterAll(async () => {
    await t.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a bundle that verifies offline, with every file, and records the export as an event', async () => {
    const report = await verifyAuditBundle(full);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ ok: true, signature: 'verified', keySource: 'bundle', anchors: 2, tlog: 'unchecked', truncation: 'absent' });
    expect(report.chain).toMatchObject({ firstSeq: 1, lastSeq: N + 1, entries: N + 1, hashOnly: 0 });
    const files = await unpack(full);
    // No truncation here, and this test's evidence provider has no log tail (tlog-tail.json: test/e2e/audit-truncated-bundle.test.ts).
    expect([...files.keys()]).toEqual(AUDIT_BUNDLE_FILES.map((f) => f.name as string).filter((n) => n !== 'truncation.jws' && n !== 'tlog-tail.json'));
    const lines = linesOf(files);
    const last = JSON.parse(lines[lines.length - 1]!) as AuditEntry;
    expect(last).toMatchObject({ action: 'audit.export', actor: requester.actor, request_id: 'req-export', seq: N + 1 });
    // One NDJSON line per entry, each with its prev_hash and hash, exactly as stored.
    const stored = (await t.db.query<{ hash: string }>('SELECT hash FROM audit_events ORDER BY seq')).rows.map((r) => r.hash);
    expect(lines.map((l) => (JSON.parse(l) as AuditEntry).hash)).toEqual(stored);
    const csv = files.get('events.csv')!.toString('utf8').trim().split('\r\n');
    expect(csv).toHaveLength(N + 2);
    expect(csv[0]).toMatch(/^seq,time,actor,role,site,action,resource,outcome,request_id,rule,details,prev_hash,hash/);
    const html = files.get('report.html')!.toString('utf8');
    for (const heading of ['Access by user', 'Denials', 'Model releases', 'Privacy budget spent', 'Anomalies']) expect(html).toContain(`>${heading}</h2>`);
    expect(files.get('report.pdf')!.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8')) as BundleManifest;
    expect(manifest.chain).toMatchObject({ first_seq: 1, last_seq: N + 1, first_prev_hash: '0'.repeat(64), entries: N + 1, hash_only: 0 });
  });

  it('hands anchors, checkpoints and proofs to an injected tlog verifier', async () => {
    const calls: Parameters<TlogEvidenceVerifier>[0][] = [];
    const ok = await verifyAuditBundle(full, { verifyTlog: async (input) => { calls.push(input); } });
    expect(ok.tlog).toBe('verified');
    expect(calls[0]!.anchors.map((a) => a.seq)).toEqual([15, 30]);
    expect(calls[0]!.leaves.map((l) => Buffer.from(l.bytes).equals(log.leaves[l.leafIndex]!))).toEqual([true, true]);
    const bad = await verifyAuditBundle(full, { verifyTlog: async () => { throw new Error('inclusion proof does not reach the checkpoint root'); } });
    expect(bad).toMatchObject({ ok: false, tlog: 'failed' });
    expect(bad.problems[0]!.code).toBe('AUDIT_TLOG_INVALID');
  });

  it('filters by job: the other entries appear as hashes only and the chain still verifies', async () => {
    const out = join(dir, 'job.tar.gz');
    const { manifest } = await exportAuditBundle(t.db, { filter: { job: 'j-1' }, out, signer: signer.sign, jwks: signer.jwks, requestedBy: requester });
    const report = await verifyAuditBundle(out, { jwks: signer.jwks });
    expect(report.problems).toEqual([]);
    const lines = linesOf(await unpack(out)).map((l) => JSON.parse(l) as Record<string, unknown>);
    const shown = lines.filter((l) => 'action' in l);
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.every((l) => (l['details'] as { job?: string }).job === 'j-1' || String(l['resource']).startsWith('job:j-1'))).toBe(true);
    expect(lines.filter((l) => !('action' in l)).every((l) => Object.keys(l).sort().join() === 'hash,prev_hash,seq')).toBe(true);
    expect(manifest.chain.hash_only).toBe(lines.length - shown.length);
    expect(manifest.chain.hash_only).toBeGreaterThan(0);
  });

  it('filters by time and site', async () => {
    const out = join(dir, 'window.tar.gz');
    const from = new Date(T0 + 10_000).toISOString();
    const to = new Date(T0 + 20_000).toISOString();
    const { manifest } = await exportAuditBundle(t.db, { filter: { from, to, site: 'site-b' }, out, signer: signer.sign, jwks: signer.jwks, requestedBy: requester });
    expect(manifest.chain).toMatchObject({ first_seq: 10, last_seq: 20 });
    const lines = linesOf(await unpack(out)).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => 'action' in l).every((l) => l['site'] === 'site-b')).toBe(true);
    expect((await verifyAuditBundle(out)).ok).toBe(true);
  });

  it('refuses a malformed filter', async () => {
    await expect(exportAuditBundle(t.db, { filter: { from: 'yesterday' }, out: join(dir, 'x.tar.gz'), signer: signer.sign, jwks: signer.jwks, requestedBy: requester }))
      .rejects.toMatchObject({ code: 'AUDIT_EXPORT_FILTER_INVALID' });
  });

  describe('tampering with an exported bundle is found at the first affected event', () => {
    let files: Map<string, Buffer>;
    let entries: AuditEntry[];
    beforeAll(async () => {
      files = await unpack(full);
      entries = linesOf(files).map((l) => JSON.parse(l) as AuditEntry);
    });
    const check = async (name: string, lines: string[]) => (await verifyAuditBundle(await repack(withLines(files, lines), dir, `${name}.tar.gz`))).firstBadEvent;
    const lines = () => entries.map((e) => canonicalJson(e));

    it('an edited event', async () => {
      const l = lines();
      l[9] = canonicalJson({ ...entries[9]!, actor: 'user:eve@elsewhere' });
      expect(await check('edit', l)).toMatchObject({ code: 'AUDIT_HASH_MISMATCH', seq: 10, line: 10 });
    });

    it('an edited and re-hashed event', async () => {
      const l = lines();
      const forged = { ...entries[9]!, actor: 'user:eve@elsewhere' };
      l[9] = canonicalJson({ ...forged, hash: chainHash(forged.prev_hash, eventOf(forged)) });
      expect(await check('rehash', l)).toMatchObject({ code: 'AUDIT_CHAIN_BROKEN', seq: 11 });
    });

    it('a deleted event', async () => {
      const l = lines();
      l.splice(19, 1);
      expect(await check('delete', l)).toMatchObject({ code: 'AUDIT_SEQ_MISSING', seq: 20 });
    });

    it('reordered events', async () => {
      const l = lines();
      [l[4], l[5]] = [l[5]!, l[4]!];
      expect(await check('reorder', l)).toMatchObject({ code: 'AUDIT_SEQ_MISSING', seq: 5 });
    });

    it('an inserted event', async () => {
      const l = lines();
      l.splice(7, 0, canonicalJson({ ...entries[7]!, actor: 'user:eve@elsewhere' }));
      expect(await check('insert', l)).toMatchObject({ code: 'AUDIT_HASH_MISMATCH', seq: 8 });
    });

    it('a truncated tail', async () => {
      expect(await check('tail', lines().slice(0, 33))).toMatchObject({ code: 'AUDIT_CHAIN_END_MISMATCH', seq: 34 });
    });

    it('a truncated head', async () => {
      expect(await check('head', lines().slice(3))).toMatchObject({ code: 'AUDIT_SEQ_MISSING', seq: 1 });
    });

    it('an anchored entry rewritten with the whole rest of the chain re-linked', async () => {
      const rewritten: AuditEntry[] = entries.slice(0, 11);
      for (const e of entries.slice(11)) {
        const prev = rewritten[rewritten.length - 1]!.hash;
        const ev = e.seq === 12 ? { ...eventOf(e), actor: 'user:eve@elsewhere' } : eventOf(e);
        rewritten.push({ ...ev, prev_hash: prev, hash: chainHash(prev, ev) } as AuditEntry);
      }
      expect(await check('relinked', rewritten.map((e) => canonicalJson(e)))).toMatchObject({ code: 'AUDIT_ANCHOR_MISMATCH', seq: 15 });
    });

    it('an edited manifest, or a bundle re-signed with another key', async () => {
      const m = JSON.parse(files.get('manifest.json')!.toString('utf8')) as BundleManifest;
      const edited = new Map(files).set('manifest.json', Buffer.from(JSON.stringify({ ...m, created_at: '2030-01-01T00:00:00.000Z' }, null, 2)));
      const r1 = await verifyAuditBundle(await repack(edited, dir, 'manifest.tar.gz'));
      expect(r1.ok).toBe(false);
      expect(r1.problems.map((p) => p.code)).toContain('AUDIT_SIGNATURE_INVALID');

      // An attacker rewrites the report, signs a new manifest with their own key and swaps jwks.json:
      // the bundle is consistent with itself, so only pinned coordinator keys catch it.
      const attacker = await testSigner('coordinator-test');
      const fakeHtml = Buffer.from('<!DOCTYPE html><title>nothing to see</title>');
      const { createHash } = await import('node:crypto');
      const m2 = { ...m, files: m.files.map((f) => (f.path === 'report.html' ? { ...f, sha256: createHash('sha256').update(fakeHtml).digest('hex'), bytes: fakeHtml.length } : f.path === 'jwks.json' ? { ...f, sha256: createHash('sha256').update(JSON.stringify(attacker.jwks)).digest('hex'), bytes: Buffer.byteLength(JSON.stringify(attacker.jwks)) } : f)) };
      const m2Bytes = Buffer.from(JSON.stringify(m2));
      const forged = new Map(files).set('report.html', fakeHtml).set('jwks.json', Buffer.from(JSON.stringify(attacker.jwks)))
        .set('manifest.json', m2Bytes).set('manifest.jws', Buffer.from(await attacker.sign(m2Bytes)));
      const path = await repack(forged, dir, 'resigned.tar.gz');
      expect((await verifyAuditBundle(path)).ok).toBe(true);
      const pinned = await verifyAuditBundle(path, { jwks: signer.jwks });
      expect(pinned).toMatchObject({ ok: false, signature: 'failed', keySource: 'pinned' });
    });

    it('a file that no longer matches its manifest digest, and an unexpected file', async () => {
      const changed = new Map(files).set('events.csv', Buffer.concat([files.get('events.csv')!, Buffer.from('999,x\r\n')]));
      const r = await verifyAuditBundle(await repack(changed, dir, 'csv.tar.gz'));
      expect(r.problems).toEqual([expect.objectContaining({ code: 'AUDIT_BUNDLE_FILE_MISMATCH', message: expect.stringContaining('events.csv') })]);
      const work = await mkdtemp(join(dir, 'extra-'));
      const names = [...files.keys(), 'run-me.sh'];
      for (const n of names) await writeFile(join(work, n), files.get(n) ?? '#!/bin/sh\n');
      await packTarGz(work, names, join(dir, 'extra.tar.gz'));
      const extra = await verifyAuditBundle(join(dir, 'extra.tar.gz'));
      expect(extra.problems).toEqual([expect.objectContaining({ code: 'AUDIT_BUNDLE_INVALID', message: expect.stringContaining('run-me.sh') })]);
      const notGz = join(dir, 'plain.txt');
      await writeFile(notGz, 'hello');
      expect((await verifyAuditBundle(notGz)).problems[0]).toMatchObject({ code: 'AUDIT_BUNDLE_INVALID' });
    });
  });

  it('exports after a purge from the signed truncation anchor', async () => {
    const { purgeAuditEntries, AUDIT_RETENTION_ROLE } = await import('../../src/audit/index.js');
    await purgeAuditEntries(t.db, { role: AUDIT_RETENTION_ROLE, before: new Date(T0 + 5_500), signer: signer.sign, actor: 'user:records@coord', now: new Date(T0 + 7 * 366 * 86_400_000) });
    expect((await verifyStoredChain(t.db, { jwks: signer.jwks })).ok).toBe(true);
    const out = join(dir, 'after-purge.tar.gz');
    const { manifest } = await exportAuditBundle(t.db, { filter: {}, out, signer: signer.sign, jwks: signer.jwks, requestedBy: requester });
    expect(manifest.truncation).toMatchObject({ seq: 5 });
    expect(manifest.chain.first_seq).toBe(6);
    const report = await verifyAuditBundle(out, { jwks: signer.jwks });
    expect(report.problems).toEqual([]);
    expect(report.truncation).toBe('verified');
    // The same bundle with the truncation anchor removed no longer verifies.
    const files = await unpack(out);
    files.delete('truncation.jws');
    expect((await verifyAuditBundle(await repack(files, dir, 'no-anchor.tar.gz'))).problems.map((p) => p.code)).toContain('AUDIT_TRUNCATION_INVALID');
  });

  it('still exports a store with a corrupted row, says so in the report, and the bundle fails at that row', async () => {
    await t.db.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
    await t.db.query("UPDATE audit_events SET event = 'not json' WHERE seq = 30");
    await t.db.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
    const out = join(dir, 'corrupt.tar.gz');
    await exportAuditBundle(t.db, { filter: { job: 'j-1' }, out, signer: signer.sign, jwks: signer.jwks, requestedBy: requester });
    const report = await verifyAuditBundle(out, { jwks: signer.jwks });
    expect(report.firstBadEvent).toMatchObject({ code: 'AUDIT_HASH_MISMATCH', seq: 30 });
    const html = (await unpack(out)).get('report.html')!.toString('utf8');
    expect(html).toContain('Not verified.');
    expect(html).toContain('seq 30: the stored hash does not match the stored event');
  });
});
