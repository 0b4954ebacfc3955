import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactSign, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import { packTarGz, readTarGz } from '@medfed/proto/audit/index';
import { runAuditExport, runAuditVerify } from '../../cli/src/commands/audit.js';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';

function io() {
  const out = { stdout: '', stderr: '', code: -1 };
  return { out, io: { stdout: (t: string) => { out.stdout += t; }, stderr: (t: string) => { out.stderr += t; }, exit: (c: number) => { out.code = c; }, env: {} } };
}

async function unpack(file: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  await readTarGz(file, (entry) => {
    const parts: Buffer[] = [];
    return { onData: (c) => parts.push(c), onEnd: () => files.set(entry.name, Buffer.concat(parts)) };
  });
  return files;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Manifest {
  chain: { first_seq: number; last_seq: number; last_hash: string; entries: number; hash_only: number };
  files: { path: string; sha256: string; bytes: number }[];
}

/**
 * The penetration test's forgery: drop the last `drop` entries and their anchors, recompute the
 * manifest, sign it with a fresh Ed25519 key under the same kid, and replace jwks.json.
 */
async function truncateAndResign(file: string, out: string, drop: number): Promise<{ keptLast: number; droppedLast: number }> {
  const files = await unpack(file);
  const lines = files.get('events.ndjson')!.toString('utf8').split('\n').filter((l) => l.length > 0);
  const droppedLast = (JSON.parse(lines[lines.length - 1]!) as { seq: number }).seq;
  const kept = lines.slice(0, lines.length - drop);
  const last = JSON.parse(kept[kept.length - 1]!) as { seq: number; hash: string; hash_only?: boolean };
  const anchors = files.get('anchors.ndjson')!.toString('utf8').split('\n').filter((l) => l.length > 0)
    .filter((l) => (JSON.parse(l) as { seq: number }).seq <= last.seq);
  files.set('events.ndjson', Buffer.from(kept.map((l) => `${l}\n`).join('')));
  files.set('anchors.ndjson', Buffer.from(anchors.map((l) => `${l}\n`).join('')));

  const { kid, alg } = decodeProtectedHeader(files.get('manifest.jws')!.toString('utf8').trim());
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  files.set('jwks.json', Buffer.from(`${JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' }] }, null, 2)}\n`));

  const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8')) as Manifest;
  const hashOnly = kept.filter((l) => (JSON.parse(l) as { hash_only?: boolean }).hash_only === true).length;
  manifest.chain = { ...manifest.chain, last_seq: last.seq, last_hash: last.hash, entries: kept.length, hash_only: hashOnly };
  manifest.files = manifest.files.map((f) => ({ ...f, sha256: sha256(files.get(f.path)!), bytes: files.get(f.path)!.length }));
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  files.set('manifest.json', manifestBytes);
  files.set('manifest.jws', Buffer.from(`${await new CompactSign(manifestBytes).setProtectedHeader({ alg: alg === 'Ed25519' ? 'Ed25519' : 'EdDSA', kid }).sign(privateKey)}\n`));

  const dir = `${out}.d`;
  await mkdir(dir, { recursive: true });
  for (const [name, bytes] of files) await writeFile(join(dir, name), bytes);
  await packTarGz(dir, [...files.keys()], out);
  return { keptLast: last.seq, droppedLast };
}

describe('medfed audit verify against a truncated, re-signed bundle', () => {
  let t: TestCoordinator;
  let work: string;
  let token: string;
  let jwks: string;
  let logKey: string;

  beforeAll(async () => {
    t = await startTestCoordinator('postgres');
    work = await mkdtemp(join(tmpdir(), 'medfed-truncated-'));
    const c = t.coordinator;
    // Events, anchored in several batches, so that anchors remain after the cut.
    for (let batch = 0; batch < 4; batch++) {
      for (let i = 0; i < 10; i++) await c.engine.registerSite(`site-${batch}-${i}`, `site ${batch} ${i}`);
      await c.anchorer.anchorNow();
    }
    const admin = { authorization: `Bearer ${c.adminToken}`, 'content-type': 'application/json' };
    const key = await (await fetch(`${c.rest}/v1/admin/api-keys`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'auditor', role: 'auditor' }) })).json() as { apiKey: string };
    token = (await (await fetch(`${c.rest}/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: key.apiKey }) })).json() as { access_token: string }).access_token;
    jwks = join(work, 'pinned-jwks.json');
    logKey = join(work, 'pinned-log.vkey');
    await writeFile(jwks, JSON.stringify(c.publisher.jwks()));
    await writeFile(logKey, `${c.publisher.checkpointKey}\n`);
  }, 180_000);
  afterAll(async () => {
    await t.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('a full export verifies against the pinned JWKS and log key; dropping its last 20 entries and re-signing is refused, naming the range', async () => {
    const file = join(work, 'full.tar.gz');
    expect(await runAuditExport({ coordinator: t.coordinator.rest, token, out: file }, io().io)).toBe(0);
    const good = io();
    expect(await runAuditVerify(file, { jwks, logKey }, good.io)).toBe(0);
    expect(good.out.stdout).toMatch(/\nOK\n$/);

    const forged = join(work, 'forged.tar.gz');
    const { keptLast, droppedLast } = await truncateAndResign(file, forged, 20);
    expect(droppedLast - keptLast).toBe(20);

    const pinnedLog = io();
    const code = await runAuditVerify(forged, { logKey }, pinnedLog.io);
    expect({ code, stderr: pinnedLog.out.stderr }).toMatchObject({ code: 7 });
    expect(pinnedLog.out.stderr).toContain('AUDIT_BUNDLE_TRUNCATED');
    expect(pinnedLog.out.stderr).toMatch(new RegExp(`entries ${keptLast + 1}\\.\\.\\d+ are anchored in the log \\(leaf \\d+\\) but missing from the bundle`));

    const unpinned = io();
    expect(await runAuditVerify(forged, {}, unpinned.io)).toBe(9);
    expect(unpinned.out.stderr).toContain('origin unverified');
    const json = io();
    expect(await runAuditVerify(forged, { json: true }, json.io)).toBe(9);
    expect(JSON.parse(json.out.stdout)).toMatchObject({ ok: true, origin: 'unverified' });
  });

  it('a ranged export (--to) verifies against the pinned JWKS and log key although later entries are anchored', async () => {
    const { rows } = await t.coordinator.db.query<{ at: Date }>('SELECT at FROM audit_events WHERE seq = 15');
    const to = new Date(rows[0]!.at).toISOString();
    for (let i = 0; i < 3; i++) await t.coordinator.engine.registerSite(`late-${i}`, `late ${i}`);
    await t.coordinator.anchorer.anchorNow();
    const file = join(work, 'ranged.tar.gz');
    expect(await runAuditExport({ coordinator: t.coordinator.rest, token, to, out: file }, io().io)).toBe(0);
    const ver = io();
    const code = await runAuditVerify(file, { jwks, logKey, json: true }, ver.io);
    expect({ code, stderr: ver.out.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(ver.out.stdout)).toMatchObject({ ok: true, origin: 'verified', tail: 'verified' });
  });
});
