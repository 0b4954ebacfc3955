import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { rosterDigest, type Roster } from '@medfed/proto/governance/index';
import { loadCoordinatorConfig, startCoordinator } from '@medfed/coordinator';
import { verifyStoredChain } from '@medfed/coordinator/audit/index';
import { loadSiteIdentity } from '@medfed/node-agent/custody/site-identity';
import { runAuditExport, runAuditPurge, runAuditVerify } from '../../cli/src/commands/audit.js';
import { runRosterInstall, runRosterShow } from '../../cli/src/commands/governance.js';
import { personToken, rest } from '../../coordinator/test/auth/support.js';
import { freshDatabase } from '../../coordinator/test/support/databases.js';
import { runCli } from '../support/cli.js';
import { consortiumSites, purgeApproval, ruleApproval, signedRoster, type ConsortiumSite } from '../support/consortium.js';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';

/**
 * Purging audit entries inside the retention period is the hospitals' decision, not the
 * coordinator's: it needs approvals signed with the stewards' keys, checked against the roster
 * every steward signed (docs/governance.md). Real PostgreSQL, real Ed25519 keys, the real CLI.
 */

const CONSORTIUM = 'rare-net';
const IDS = ['site-a', 'site-b', 'site-c'] as const;
const SETUP = 180_000;

interface StoredEvent { action: string; actor: string; role: string; outcome: string; rule: string; details: Record<string, unknown> }

function io() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: (t: string) => { out.stdout += t; }, stderr: (t: string) => { out.stderr += t; }, exit: () => {}, env: {}, fetch } };
}

describe('audit purges inside retention need the stewards\' signed approvals (PostgreSQL)', () => {
  let t: TestCoordinator;
  let root: string;
  let sites: Record<string, ConsortiumSite>;
  let roster: Roster;
  let auditor: string;

  const admin = () => ({ authorization: `Bearer ${t.coordinator.adminToken}` });
  const db = () => t.coordinator.db;
  const count = async (sql: string, params: unknown[] = []) => Number((await db().query<{ n: string }>(sql, params)).rows[0]!.n);
  const lastEvent = async (action: string): Promise<StoredEvent> => {
    const { rows } = await db().query<{ event: string }>('SELECT event FROM audit_events WHERE action = $1 ORDER BY seq DESC LIMIT 1', [action]);
    return JSON.parse(rows[0]!.event) as StoredEvent;
  };
  const purge = (before: string, approvals?: string[]) => rest(t.coordinator, 'POST', '/v1/audit/purge', { headers: admin(), body: { before, force: true, ...(approvals ? { approvals } : {}) } });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'medfed-purge-governance-'));
    t = await startTestCoordinator('postgres');
    sites = await consortiumSites(root, CONSORTIUM, IDS);
    roster = await signedRoster(CONSORTIUM, IDS.map((id) => sites[id]!));
    auditor = (await personToken(t.coordinator, 'auditor')).token;
    for (const s of IDS) await rest(t.coordinator, 'POST', '/v1/sites', { headers: admin(), body: { id: s } });
  }, SETUP);
  afterAll(async () => {
    await t?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('refuses a forced purge inside retention by an admin (and by an auditor): APPROVAL_QUORUM_NOT_MET, nothing deleted, the refusal recorded', async () => {
    const head = await count('SELECT max(seq) AS n FROM audit_events');
    const before = new Date().toISOString();
    const kept = await count('SELECT count(*) AS n FROM audit_events WHERE seq <= $1', [head]);
    expect(kept).toBeGreaterThanOrEqual(3);

    const byAdmin = await purge(before);
    expect([byAdmin.status, byAdmin.body.code]).toEqual([403, 'APPROVAL_QUORUM_NOT_MET']);
    expect(byAdmin.body.message).toContain('no consortium roster is installed');
    const byAuditor = await rest(t.coordinator, 'POST', '/v1/audit/purge', { headers: { authorization: `Bearer ${auditor}` }, body: { before, force: true } });
    expect([byAuditor.status, byAuditor.body.code]).toEqual([403, 'AUTH_ROLE_FORBIDDEN']);
    const cli = io();
    expect(await runAuditPurge({ coordinator: t.coordinator.rest, token: t.coordinator.adminToken, before, yes: true, force: true }, cli.io)).toBe(8);
    expect(cli.out.stderr).toContain('APPROVAL_QUORUM_NOT_MET');

    expect(await count('SELECT count(*) AS n FROM audit_events WHERE seq <= $1', [head])).toBe(kept);
    expect(await count('SELECT count(*) AS n FROM audit_truncations')).toBe(0);
    expect(await lastEvent('audit.purge')).toMatchObject({ role: 'admin', outcome: 'denied', details: { before, reason: 'APPROVAL_QUORUM_NOT_MET' } });
  });

  it('installs the roster every steward signed (an audit event with its digest) and shows it, verified, to an auditor', async () => {
    const file = join(root, 'roster-v1.json');
    await writeFile(file, JSON.stringify(roster));
    const run = io();
    expect(await runRosterInstall(file, { coordinator: t.coordinator.rest, token: t.coordinator.adminToken }, run.io)).toBe(0);
    expect(run.out.stdout).toContain(`installed roster ${CONSORTIUM} v1 (digest ${rosterDigest(roster)})`);
    expect(await lastEvent('governance.roster.install')).toMatchObject({
      outcome: 'success', details: { consortium: CONSORTIUM, version: 1, sha256: rosterDigest(roster), signers: ['steward:site-a', 'steward:site-b', 'steward:site-c'] },
    });

    const shown = await rest(t.coordinator, 'GET', '/v1/governance/roster', { headers: { authorization: `Bearer ${auditor}` } });
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ consortium: CONSORTIUM, version: 1, digest: rosterDigest(roster), auditRetentionDays: 2192 });
    const text = io();
    expect(await runRosterShow({ coordinator: t.coordinator.rest, token: auditor }, text.io)).toBe(0);
    expect(text.out.stdout).toContain('a purge inside retention needs 2 of 3 stewards');

    // An unsigned roster is not installed, and that refusal is recorded too.
    const { signatures: _dropped, ...unsigned } = roster;
    const refused = await rest(t.coordinator, 'POST', '/v1/governance/roster', { headers: admin(), body: { roster: { ...unsigned, version: 2, signatures: [] } } });
    expect([refused.status, refused.body.code]).toEqual([403, 'ROSTER_UNSIGNED']);
    expect(await lastEvent('governance.roster.replace')).toMatchObject({ outcome: 'denied', details: { reason: 'ROSTER_UNSIGNED', version: 2 } });
  });

  it('refuses one steward\'s approval and a forged one, then purges with a majority signed by the stewards\' own keys (the CLI), naming them; its export verifies against the pinned roster (--roster)', async () => {
    await rest(t.coordinator, 'GET', '/v1/sites', { headers: admin() });
    const before = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    await rest(t.coordinator, 'GET', '/v1/sites', { headers: admin() }); // an entry after the cut
    const older = await count('SELECT count(*) AS n FROM audit_events WHERE at < $1', [before]);

    // site-a alone is not a majority; a key that merely claims to be site-b's steward does not count.
    const { keys: foreign } = await loadSiteIdentity(join(root, 'impostor'), 'site-b');
    const forged = purgeApproval({ ...sites['site-b']!, keys: foreign }, CONSORTIUM, before);
    const short = await purge(before, [purgeApproval(sites['site-a']!, CONSORTIUM, before), forged]);
    expect([short.status, short.body.code]).toEqual([403, 'APPROVAL_QUORUM_NOT_MET']);
    expect(short.body.message).toContain('STEWARD_APPROVAL_SIGNATURE_INVALID');
    expect(await lastEvent('audit.purge')).toMatchObject({ outcome: 'denied', details: { reason: 'APPROVAL_QUORUM_NOT_MET', signers: ['steward:site-a'], version: 1 } });
    // An approval of another cut-off does not approve this one.
    const other = await purge(before, [purgeApproval(sites['site-a']!, CONSORTIUM, before), purgeApproval(sites['site-b']!, CONSORTIUM, new Date(Date.parse(before) + 1000).toISOString())]);
    expect([other.status, other.body.code]).toEqual([403, 'APPROVAL_QUORUM_NOT_MET']);
    expect(await count('SELECT count(*) AS n FROM audit_truncations')).toBe(0);

    const files: string[] = [];
    for (const id of ['site-a', 'site-c']) {
      const out = join(root, `purge-${id}.jws`);
      const signed = await runCli(['agent', 'sign-purge', '-c', sites[id]!.config, '--before', before, '--expires-in', '2h', '--out', out]);
      expect([signed.code, signed.stderr]).toEqual([0, '']);
      expect(signed.stdout).toContain(`signed as steward ${id} of ${CONSORTIUM}`);
      files.push(out);
    }
    const run = io();
    expect(await runAuditPurge({ coordinator: t.coordinator.rest, token: t.coordinator.adminToken, before, yes: true, force: true, approval: files }, run.io)).toBe(0);
    expect(run.out.stdout).toContain(`purged ${older} entries`);
    expect(run.out.stdout).toContain('approved inside the retention period by steward:site-a, steward:site-c');

    expect(await count('SELECT count(*) AS n FROM audit_events WHERE at < $1', [before])).toBe(0);
    expect(await lastEvent('audit.purge')).toMatchObject({
      role: 'admin', outcome: 'success',
      details: { reason: 'RETENTION_OVERRIDE', count: older, consortium: CONSORTIUM, version: 1, sha256: rosterDigest(roster), signers: ['steward:site-a', 'steward:site-c'] },
    });
    const jwks = t.coordinator.publisher.jwks();
    expect(await verifyStoredChain(db(), { jwks: { keys: jwks.keys.map((k) => ({ ...k })) } })).toMatchObject({ ok: true });

    // The event carries the two approvals it counted, so a verifier who pinned the roster re-checks them offline.
    const purged = await lastEvent('audit.purge');
    expect(purged.details.approvals).toEqual(await Promise.all(files.map(async (f) => (await readFile(f, 'utf8')).trim())));
    const bundle = join(root, 'after-purge.tar.gz');
    expect(await runAuditExport({ coordinator: t.coordinator.rest, token: auditor, out: bundle }, io().io)).toBe(0);
    const jwksFile = join(root, 'jwks.json');
    const logKeyFile = join(root, 'checkpoint.vkey');
    await writeFile(jwksFile, JSON.stringify(jwks));
    await writeFile(logKeyFile, `${t.coordinator.publisher.checkpointKey}\n`);
    const verified = io();
    const code = await runAuditVerify(bundle, { jwks: jwksFile, logKey: logKeyFile, roster: [join(root, 'roster-v1.json')] }, verified.io);
    expect({ code, stderr: verified.out.stderr }).toEqual({ code: 0, stderr: '' });
    expect(verified.out.stdout).toContain('purges       1 inside retention checked against the pinned roster, approved: ');
    expect(verified.out.stdout).toContain('by steward:site-a, steward:site-c (roster rare-net v1)');
  });

  it('refuses every purge while the stored roster row was edited in the database, because it no longer verifies', async () => {
    const original = (await db().query<{ roster: unknown }>('SELECT roster FROM governance_rosters WHERE version = 1')).rows[0]!.roster;
    const before = new Date().toISOString();
    const approvals = [purgeApproval(sites['site-a']!, CONSORTIUM, before), purgeApproval(sites['site-b']!, CONSORTIUM, before)];
    const outsider = await loadSiteIdentity(join(root, 'outsider'), 'site-x');
    const edits: [string, string, unknown[]][] = [
      ['the rule changed', "UPDATE governance_rosters SET roster = jsonb_set(roster, '{rules}', $1::jsonb) WHERE version = 1", [JSON.stringify({ auditRetentionDays: 3000 })]],
      ['an auditor added', "UPDATE governance_rosters SET roster = jsonb_set(roster, '{auditors}', $1::jsonb) WHERE version = 1",
        [JSON.stringify([{ auditorId: 'x-auditor', keyThumbprint: outsider.identity.stewardKeyThumbprint, publicJwk: outsider.identity.stewardPublicJwk }])]],
    ];
    for (const [what, sql, params] of edits) {
      await db().query(sql, params);
      const refused = await purge(before, approvals);
      expect([what, refused.status, refused.body.code]).toEqual([what, 409, 'GOVERNANCE_ROSTER_INVALID']);
      expect(refused.body.message).toContain('ROSTER_SIGNATURE_INVALID');
      expect(await lastEvent('audit.purge')).toMatchObject({ outcome: 'denied', details: { reason: 'GOVERNANCE_ROSTER_INVALID' } });
      const shown = await rest(t.coordinator, 'GET', '/v1/governance/roster', { headers: { authorization: `Bearer ${auditor}` } });
      expect([shown.status, shown.body.code]).toEqual([409, 'GOVERNANCE_ROSTER_INVALID']);
      await db().query('UPDATE governance_rosters SET roster = $1::jsonb WHERE version = 1', [JSON.stringify(original)]);
    }

    // A whole new version inserted beside it, signed by stewards of its own, lacks the installed stewards' approvals.
    const fake = await consortiumSites(join(root, 'fake'), CONSORTIUM, ['site-a', 'site-b', 'site-c']);
    const forged = await signedRoster(CONSORTIUM, Object.values(fake), { version: 2 });
    await db().query('INSERT INTO governance_rosters (version, consortium, roster, digest, approvals) VALUES (2, $1, $2::jsonb, $3, $4::jsonb)',
      [CONSORTIUM, JSON.stringify(forged), rosterDigest(forged), JSON.stringify(Object.values(fake).map((s) => ruleApproval(s, forged)))]);
    const inserted = await purge(before, Object.values(fake).map((s) => purgeApproval(s, CONSORTIUM, before)));
    expect([inserted.status, inserted.body.code]).toEqual([409, 'GOVERNANCE_ROSTER_INVALID']);
    expect(inserted.body.message).toContain('without the approvals of a majority of its stewards');
    await db().query('DELETE FROM governance_rosters WHERE version = 2');
    expect(await count('SELECT count(*) AS n FROM audit_truncations')).toBe(1);

    // Restored, the roster verifies again.
    const shown = await rest(t.coordinator, 'GET', '/v1/governance/roster', { headers: { authorization: `Bearer ${auditor}` } });
    expect([shown.status, shown.body.digest]).toEqual([200, rosterDigest(roster)]);
  });

  it('replaces the roster (a rotated steward key) only with approvals of a majority of the installed stewards; the old key no longer counts', async () => {
    // site-c lost its steward key: a new one, a new roster version signed by every listed steward.
    const rotatedC: ConsortiumSite = { ...sites['site-c']!, ...(await loadSiteIdentity(join(root, 'site-c-new'), 'site-c')) };
    const v2 = await signedRoster(CONSORTIUM, [sites['site-a']!, sites['site-b']!, rotatedC], { version: 2, rules: { auditRetentionDays: 2500 } });
    const file = join(root, 'roster-v2.json');
    await writeFile(file, JSON.stringify(v2));

    const none = io();
    expect(await runRosterInstall(file, { coordinator: t.coordinator.rest, token: t.coordinator.adminToken }, none.io)).toBe(8);
    expect(none.out.stderr).toContain('APPROVAL_QUORUM_NOT_MET');
    // The new key's approval is not one of the installed roster's stewards' keys.
    const withNewKey = await rest(t.coordinator, 'POST', '/v1/governance/roster', { headers: admin(), body: { roster: v2, approvals: [ruleApproval(sites['site-a']!, v2), ruleApproval(rotatedC, v2)] } });
    expect([withNewKey.status, withNewKey.body.code]).toEqual([403, 'APPROVAL_QUORUM_NOT_MET']);
    expect(await lastEvent('governance.roster.replace')).toMatchObject({ outcome: 'denied', details: { reason: 'APPROVAL_QUORUM_NOT_MET', version: 2, signers: ['steward:site-a'] } });
    expect((await rest(t.coordinator, 'GET', '/v1/governance/roster', { headers: admin() })).body.version).toBe(1);

    const approvalFiles: string[] = [];
    for (const id of ['site-a', 'site-b']) {
      const out = join(root, `rule-${id}.jws`);
      const signed = await runCli(['agent', 'sign-rule', '-c', sites[id]!.config, '--roster', file, '--out', out]);
      expect([signed.code, signed.stderr]).toEqual([0, '']);
      approvalFiles.push(out);
    }
    const run = io();
    expect(await runRosterInstall(file, { coordinator: t.coordinator.rest, token: t.coordinator.adminToken, approval: approvalFiles }, run.io)).toBe(0);
    expect(run.out.stdout).toContain(`replaced roster ${CONSORTIUM} v2`);
    expect(await lastEvent('governance.roster.replace')).toMatchObject({
      outcome: 'success', details: { version: 2, sha256: rosterDigest(v2), old_sha256: rosterDigest(roster), signers: ['steward:site-a', 'steward:site-b'] },
    });
    const shown = await rest(t.coordinator, 'GET', '/v1/governance/roster', { headers: { authorization: `Bearer ${auditor}` } });
    expect(shown.body).toMatchObject({ version: 2, digest: rosterDigest(v2), auditRetentionDays: 2500 });

    // site-c's old key no longer counts for a purge; its new one does.
    const before = new Date().toISOString();
    const stale = await purge(before, [purgeApproval(sites['site-a']!, CONSORTIUM, before), purgeApproval(sites['site-c']!, CONSORTIUM, before)]);
    expect([stale.status, stale.body.code]).toEqual([403, 'APPROVAL_QUORUM_NOT_MET']);
    const fresh = await purge(before, [purgeApproval(sites['site-a']!, CONSORTIUM, before), purgeApproval(rotatedC, CONSORTIUM, before)]);
    expect([fresh.status, fresh.body.retentionDays, fresh.body.signers]).toEqual([200, 2500, ['steward:site-a', 'steward:site-c']]);
  });
});

describe('governance.rosterFile at start', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'medfed-roster-file-'));
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  it('refuses to start with a roster file edited on disk, and installs a verified one', async () => {
    const sites = await consortiumSites(root, CONSORTIUM, ['site-a', 'site-b']);
    const file = join(root, 'roster.json');
    await writeFile(file, JSON.stringify(await signedRoster(CONSORTIUM, Object.values(sites))));
    const env = await loadCoordinatorConfig({ env: { MEDFED_GOVERNANCE_ROSTER_FILE: file } });
    expect(env.governance.rosterFile).toBe(file);

    const edited = JSON.parse(await readFile(file, 'utf8')) as Roster;
    const editedFile = join(root, 'roster-edited.json');
    await writeFile(editedFile, JSON.stringify({ ...edited, rules: { auditRetentionDays: 3650 } }));
    const testDb = await freshDatabase('postgres', { migrate: false });
    const dataDir = await mkdtemp(join(root, 'data-'));
    try {
      const config = await loadCoordinatorConfig({
        env: {}, overrides: { 'rest.port': 0, 'grpc.port': 0, dataDir, databaseUrl: testDb.url, logLevel: 'silent', 'governance.rosterFile': editedFile },
      });
      await expect(startCoordinator(config, pino({ level: 'silent' }))).rejects.toMatchObject({
        code: 'ROSTER_SIGNATURE_INVALID', message: expect.stringContaining(`governance.rosterFile ${editedFile} does not verify`),
      });
      expect(await testDb.db.query('SELECT 1 FROM governance_rosters').then((r) => r.rows.length)).toBe(0);
    } finally {
      await testDb.drop();
    }

    const t = await startTestCoordinator('postgres', { 'governance.rosterFile': file });
    try {
      const shown = await rest(t.coordinator, 'GET', '/v1/governance/roster', { headers: { authorization: `Bearer ${t.coordinator.adminToken}` } });
      expect(shown.body).toMatchObject({ consortium: CONSORTIUM, version: 1, digest: rosterDigest(edited) });
      const { rows } = await t.coordinator.db.query<{ event: string }>("SELECT event FROM audit_events WHERE action = 'governance.roster.install'");
      expect(rows.map((r) => JSON.parse(r.event) as StoredEvent)).toMatchObject([{ actor: 'coordinator', role: 'system', rule: 'config:governance.rosterFile', outcome: 'success' }]);
    } finally {
      await t.stop();
    }
  }, SETUP);
});
