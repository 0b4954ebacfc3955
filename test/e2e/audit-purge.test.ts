import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packTarGz, readTarGz } from '@medfed/proto/audit/index';
import { verifyStoredChain } from '@medfed/coordinator/audit/index';
import { runAuditExport, runAuditPurge, runAuditVerify } from '../../cli/src/commands/audit.js';
import { personToken, rest } from '../../coordinator/test/auth/support.js';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';
import { consortiumSites, purgeApproval, signedRoster, type ConsortiumSite } from '../support/consortium.js';

function io() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: (t: string) => { out.stdout += t; }, stderr: (t: string) => { out.stderr += t; }, exit: () => {}, env: {}, fetch } };
}

interface StoredEvent { action: string; actor: string; role: string; outcome: string; rule: string; request_id: string | null; details: Record<string, unknown> }

async function events(t: TestCoordinator): Promise<StoredEvent[]> {
  const { rows } = await t.coordinator.db.query<{ event: string }>('SELECT event FROM audit_events ORDER BY seq');
  return rows.map((r) => JSON.parse(r.event) as StoredEvent);
}

describe('medfed audit purge against a running coordinator', () => {
  let t: TestCoordinator;
  let work: string;
  let auditor: string;
  let stewards: ConsortiumSite[];

  beforeAll(async () => {
    t = await startTestCoordinator('pglite');
    work = await mkdtemp(join(tmpdir(), 'medfed-purge-'));
    auditor = (await personToken(t.coordinator, 'auditor')).token;
    for (const s of ['site-a', 'site-b']) await rest(t.coordinator, 'POST', '/v1/sites', { headers: { authorization: `Bearer ${t.coordinator.adminToken}` }, body: { id: s } });
    // Inside retention a purge needs the stewards' signed approvals (docs/governance.md): install their roster.
    stewards = Object.values(await consortiumSites(work, 'purge-net', ['site-a', 'site-b']));
    const installed = await rest(t.coordinator, 'POST', '/v1/governance/roster', {
      headers: { authorization: `Bearer ${t.coordinator.adminToken}` }, body: { roster: await signedRoster('purge-net', stewards) },
    });
    expect(installed.status).toBe(200);
  }, 180_000);
  afterAll(async () => {
    await t.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('is refused to anyone but an admin, and inside the retention period unless forced', async () => {
    const c = t.coordinator;
    const denied = await rest(c, 'POST', '/v1/audit/purge', { headers: { authorization: `Bearer ${auditor}` }, body: { before: new Date().toISOString() } });
    expect([denied.status, denied.body.code]).toEqual([403, 'AUTH_ROLE_FORBIDDEN']);
    const asAuditor = io();
    expect(await runAuditPurge({ coordinator: c.rest, token: auditor, before: new Date().toISOString(), yes: true, force: true }, asAuditor.io)).toBe(8);

    const unconfirmed = io();
    expect(await runAuditPurge({ coordinator: c.rest, token: c.adminToken, before: new Date().toISOString() }, unconfirmed.io)).toBe(2);
    expect(unconfirmed.out.stderr).toContain('--yes');
    const young = io();
    expect(await runAuditPurge({ coordinator: c.rest, token: c.adminToken, before: new Date(Date.now() - 86_400_000).toISOString(), yes: true }, young.io)).toBe(8);
    expect(young.out.stderr).toContain('AUDIT_PURGE_RETENTION');
    expect(await runAuditPurge({ coordinator: c.rest, token: c.adminToken, before: 'yesterday', yes: true }, io().io)).toBe(2);
    expect(await c.db.query('SELECT 1 FROM audit_truncations').then((r) => r.rows.length)).toBe(0);
  });

  it('purges, leaves a signed anchor and one audit.purge event; the chain and an export verify, tampering still fails', async () => {
    const c = t.coordinator;
    const cut = new Date();
    await new Promise((r) => setTimeout(r, 5));
    await rest(c, 'GET', '/v1/sites', { headers: { authorization: `Bearer ${c.adminToken}` } }); // an entry after the cut
    const before = await events(t);
    const older = before.filter((e, i) => i < before.length - 1).length;

    const approvals: string[] = [];
    for (const s of stewards) {
      approvals.push(join(work, `${s.id}.jws`));
      await writeFile(approvals.at(-1)!, purgeApproval(s, 'purge-net', cut.toISOString()));
    }
    const run = io();
    expect(await runAuditPurge({ coordinator: c.rest, token: c.adminToken, before: cut.toISOString(), yes: true, force: true, approval: approvals }, run.io)).toBe(0);
    expect(run.out.stdout).toMatch(/^purged \d+ entries through seq \d+/);

    const after = await events(t);
    const purges = after.filter((e) => e.action === 'audit.purge');
    expect(purges).toHaveLength(1);
    expect(purges[0]).toMatchObject({
      actor: expect.stringMatching(/^key:/), role: 'admin', outcome: 'success', rule: `policy:v${c.auth.policy.version}/audit.purge`,
      details: { reason: 'RETENTION_OVERRIDE', signers: ['steward:site-a', 'steward:site-b'] },
    });
    // One event for the purge request: no separate access decision with the same request id.
    expect(after.filter((e) => e.request_id === purges[0]!.request_id)).toHaveLength(1);
    expect(after.length).toBeLessThan(before.length);
    expect(older).toBeGreaterThan(0);

    const jwks = c.publisher.jwks();
    expect(await verifyStoredChain(c.db, { jwks: { keys: jwks.keys.map((k) => ({ ...k })) } })).toMatchObject({ ok: true });

    const bundle = join(work, 'after-purge.tar.gz');
    expect(await runAuditExport({ coordinator: c.rest, token: auditor, out: bundle }, io().io)).toBe(0);
    const exported = (await events(t)).filter((e) => e.action === 'audit.export');
    expect(exported).toHaveLength(1);
    // The export is its own request's one event too: no separate access decision for it.
    expect((await events(t)).filter((e) => e.request_id === exported[0]!.request_id)).toHaveLength(1);
    expect(exported[0]!.rule).toBe(`policy:v${c.auth.policy.version}/audit.export`);
    const jwksFile = join(work, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify(jwks));
    const logKeyFile = join(work, 'checkpoint.vkey');
    await writeFile(logKeyFile, `${c.publisher.checkpointKey}\n`);
    const verified = io();
    // Both pinned (the manifest keys and the log key): otherwise verify exits 9, origin unverified.
    expect(await runAuditVerify(bundle, { jwks: jwksFile, logKey: logKeyFile }, verified.io)).toBe(0);
    expect(verified.out.stdout).toMatch(/truncation {3}verified/);

    // The same bundle with one event edited fails.
    const files = new Map<string, Buffer>();
    await readTarGz(bundle, ({ name }) => { const parts: Buffer[] = []; return { onData: (b) => parts.push(b), onEnd: () => files.set(name, Buffer.concat(parts)) }; });
    const lines = files.get('events.ndjson')!.toString('utf8').split('\n');
    lines[0] = lines[0]!.replace('"outcome":"success"', '"outcome":"denied"');
    expect(lines[0]).toContain('"outcome":"denied"');
    const dir = await mkdtemp(join(work, 'bad-'));
    for (const [n, b] of files) await writeFile(join(dir, n), n === 'events.ndjson' ? lines.join('\n') : b);
    const tampered = join(work, 'tampered.tar.gz');
    await packTarGz(dir, [...files.keys()], tampered);
    const bad = io();
    expect(await runAuditVerify(tampered, { jwks: jwksFile, logKey: logKeyFile }, bad.io)).toBe(7);
  });
});
