import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packTarGz, readTarGz } from '@medfed/proto/audit/index';
import type { JobSpec } from '@medfed/proto';
import { runAuditExport, runAuditVerify } from '../../cli/src/commands/audit.js';
import { runModelExport, runModelVerify } from '../../cli/src/commands/model.js';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';

const spec = (sites: string[]): JobSpec => ({
  name: 'export', features: ['f1', 'f2', 'f3'], label: 'y', classes: ['no', 'yes'],
  model: { hidden: [], activation: 'relu' },
  training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 7 },
  rounds: 1, minSites: 2, roundDeadlineSeconds: 30, strategy: { name: 'fedavg' }, sites, standardization: 'none',
});

function io() {
  const out = { stdout: '', stderr: '', code: -1 };
  return { out, io: { stdout: (t: string) => { out.stdout += t; }, stderr: (t: string) => { out.stderr += t; }, exit: (c: number) => { out.code = c; }, env: {}, fetch } };
}

async function unpack(file: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  await readTarGz(file, (entry) => {
    const parts: Buffer[] = [];
    return { onData: (c) => parts.push(c), onEnd: () => files.set(entry.name, Buffer.concat(parts)) };
  });
  return files;
}

describe('exports from a running coordinator verify offline', () => {
  let t: TestCoordinator;
  let work: string;
  let jobId: string;

  beforeAll(async () => {
    t = await startTestCoordinator('pglite');
    work = await mkdtemp(join(tmpdir(), 'medfed-export-'));
    for (const s of ['site-a', 'site-b']) await t.coordinator.engine.registerSite(s, s);
    jobId = (await t.coordinator.engine.createJob(spec(['site-a', 'site-b']), 'tester')).id;
  });
  afterAll(async () => {
    await t.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('medfed model export writes a bundle that medfed model verify accepts, pinned to the published keys', async () => {
    const dir = join(work, 'bundle');
    const exp = io();
    expect(await runModelExport({ coordinator: t.coordinator.rest, token: t.coordinator.adminToken, job: jobId, round: '0', out: dir }, exp.io, {})).toBe(0);
    expect(exp.out.stdout).toContain(`weights of job ${jobId} round 0`);
    const jwks = join(work, 'pinned-jwks.json');
    const logKey = join(work, 'pinned-log.vkey');
    await writeFile(jwks, JSON.stringify(t.coordinator.publisher.jwks()));
    await writeFile(logKey, `${t.coordinator.publisher.checkpointKey}\n`);
    const ver = io();
    expect(await runModelVerify(dir, { job: jobId, round: '0', jwks, logKey, witnessKey: [] }, ver.io)).toBe(0);
    expect(ver.out.stdout).toContain(`global-model for job ${jobId} round 0`);
    // The wrong round is refused as a replay of an older artifact.
    const stale = io();
    expect(await runModelVerify(dir, { job: jobId, round: '1', jwks, logKey, witnessKey: [] }, stale.io)).toBe(7);
    expect(stale.out.stderr).toContain('MANIFEST_STALE_ROUND');
    // --release names a released model by itself (docs/releases.md): an unknown one is refused, and it takes no --job.
    const rel = io();
    expect(await runModelExport({ coordinator: t.coordinator.rest, token: t.coordinator.adminToken, release: 'r1', out: join(work, 'r') }, rel.io, {})).toBe(1);
    expect(rel.out.stderr).toContain('RELEASE_UNKNOWN');
    const both = io();
    expect(await runModelExport({ coordinator: t.coordinator.rest, token: t.coordinator.adminToken, release: 'r1', job: jobId, out: join(work, 'r') }, both.io, {})).toBe(2);
  });

  it('GET /v1/audit/export (auditor) gives a bundle whose chain, signature and tlog evidence verify; an edited event is named', async () => {
    const c = t.coordinator;
    const admin = { authorization: `Bearer ${c.adminToken}`, 'content-type': 'application/json' };
    const key = await (await fetch(`${c.rest}/v1/admin/api-keys`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'auditor', role: 'auditor' }) })).json() as { apiKey: string };
    const token = (await (await fetch(`${c.rest}/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: key.apiKey }) })).json() as { access_token: string }).access_token;
    // Admins are not auditors: the export is refused to them.
    expect((await fetch(`${c.rest}/v1/audit/export`, { headers: { authorization: `Bearer ${c.adminToken}` } })).status).toBe(403);

    const file = join(work, 'audit.tar.gz');
    const exp = io();
    expect(await runAuditExport({ coordinator: c.rest, token, out: file }, exp.io)).toBe(0);
    const ver = io();
    expect(await runAuditVerify(file, {}, ver.io)).toBe(9);
    expect(ver.out.stdout).toMatch(/tlog proofs {2}verified/);
    const json = io();
    await runAuditVerify(file, { json: true }, json.io);
    const report = JSON.parse(json.out.stdout) as { tlog: string; anchors: number; ok: boolean };
    expect(report).toMatchObject({ ok: true, tlog: 'verified' });
    expect(report.anchors).toBeGreaterThan(0);
    // The export itself is an audit event.
    const { rows } = await c.db.query<{ n: string }>(`SELECT count(*) AS n FROM audit_events WHERE action = 'audit.export'`);
    expect(Number(rows[0]!.n)).toBeGreaterThan(0);

    // Edit one event (its outcome) and repack: verify fails and names that event.
    const files = await unpack(file);
    const lines = files.get('events.ndjson')!.toString('utf8').split('\n');
    const i = lines.findIndex((l) => l.includes('"job.create"'));
    expect(i).toBeGreaterThanOrEqual(0);
    const seq = (JSON.parse(lines[i]!) as { seq: number }).seq;
    lines[i] = lines[i]!.replace('"success"', '"denied"');
    const dir = join(work, 'edited');
    await rm(dir, { recursive: true, force: true });
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir);
    for (const [name, bytes] of files) await writeFile(join(dir, name), name === 'events.ndjson' ? lines.join('\n') : bytes);
    const edited = join(work, 'edited.tar.gz');
    await packTarGz(dir, [...files.keys()], edited);
    const bad = io();
    expect(await runAuditVerify(edited, {}, bad.io)).toBe(7);
    expect(bad.out.stderr).toContain('first bad event');
    expect(bad.out.stderr).toContain(`${seq}`);
  });
});
