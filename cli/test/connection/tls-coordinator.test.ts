import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDevCa, type DevCaFiles } from '@medfed/coordinator/keys/index';
import { startTestCoordinator, type TestCoordinator } from '../../../test/support/coordinator.js';
import { runCli } from '../../../test/support/cli.js';

/**
 * The built `medfed` as a separate process against a real coordinator serving REST over TLS with
 * a development CA: the connection flags and variables of coordinator-connection.ts, their
 * precedence and exit codes, and `medfed audit export` under TLS with --ca alone.
 */

/** Every variable the CLI reads for a connection, unset, so the machine's own cannot leak in. */
const CLEAN: NodeJS.ProcessEnv = {
  NODE_EXTRA_CA_CERTS: undefined, MEDFED_COORDINATOR_URL: undefined, MEDFED_COORDINATOR: undefined, MEDFED_API_KEY: undefined,
  MEDFED_API_KEY_FILE: undefined, MEDFED_TOKEN: undefined, MEDFED_CA_FILE: undefined, MEDFED_DATA_DIR: undefined,
};

describe('medfed against a TLS coordinator (CLI as a process)', () => {
  let t: TestCoordinator;
  let tls: DevCaFiles;
  let work: string;
  let rest: string;
  let conn: string[];

  const medfed = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, { env: { ...CLEAN, ...env }, cwd: work });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'medfed-cli-tls-'));
    tls = await writeDevCa(join(work, 'tls'), ['localhost', '127.0.0.1']);
    t = await startTestCoordinator('pglite', { 'tls.cert': tls.serverCert, 'tls.key': tls.serverKey });
    rest = t.coordinator.rest;
    conn = ['--coordinator', rest, '--key-file', t.coordinator.adminKeyFile, '--ca', tls.caCert];
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('serves https', () => {
    expect(rest.startsWith('https://')).toBe(true);
  });

  it('sites add, ls, show, suspend and reinstate with --coordinator, --key-file and --ca', async () => {
    const added = await medfed(['sites', 'add', 'site-a', '--name', 'Hospital A', ...conn]);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toContain('registered site-a (Hospital A): registered');
    expect(added.stdout).toContain(`medfed admin enrollment-code --site site-a --coordinator ${rest}`);

    // Independent calls run side by side: each is a Node.js process start.
    const [ls, show] = await Promise.all([medfed(['sites', 'ls', '--format', 'json', ...conn]), medfed(['sites', 'show', 'site-a', ...conn])]);
    expect(ls.code).toBe(0);
    expect((JSON.parse(ls.stdout) as { sites: { id: string; displayName: string; status: string }[] }).sites)
      .toEqual([expect.objectContaining({ id: 'site-a', displayName: 'Hospital A', status: 'registered' })]);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^site-a {2}registered\n {2}name {11}Hospital A\n {2}last seen {6}never seen/);

    const suspended = await medfed(['sites', 'suspend', 'site-a', ...conn]);
    expect(suspended.code).toBe(0);
    expect(suspended.stdout).toBe('site-a suspended; lift it with medfed sites reinstate site-a\n');
    const reinstated = await medfed(['sites', 'reinstate', 'site-a', '--format', 'json', ...conn]);
    expect(JSON.parse(reinstated.stdout)).toEqual({ id: 'site-a', status: 'registered' });

    // The next step `sites add` names works; revoke ends the site for good: no enrollment code afterwards.
    const code = await medfed(['admin', 'enrollment-code', '--site', 'site-a', ...conn]);
    expect(code.code).toBe(0);
    expect(code.stdout.trim()).not.toBe('');
    const noReason = await medfed(['sites', 'revoke', 'site-a', ...conn]);
    expect(noReason.code).toBe(2);
    const revoked = await medfed(['sites', 'revoke', 'site-a', '--reason', 'hospital left the consortium', ...conn]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/^site-a revoked at \d{4}-\d\d-\d\dT[\d:.]+Z; it cannot enrol again\n$/);
    const afterRevoke = await medfed(['admin', 'enrollment-code', '--site', 'site-a', ...conn]);
    expect(afterRevoke.code).not.toBe(0);
    expect(afterRevoke.stderr).toContain('AUTH_SITE_REVOKED');
  }, 240_000);

  it('without a CA it exits 5 (UNREACHABLE), naming the URL, the certificate problem and --ca; never a bare "fetch failed"', async () => {
    const commands = [['sites', 'ls'], ['jobs', 'ls'], ['runs', 'ls'], ['admin', 'list-keys'], ['stats', 'show', 'q-1']];
    const runs = await Promise.all(commands.map((args) => medfed([...args, '--coordinator', rest, '--key-file', t.coordinator.adminKeyFile])));
    for (const [i, r] of runs.entries()) {
      expect([commands[i], r.code]).toEqual([commands[i], 5]);
      expect(r.stderr).toContain(`medfed: error COORDINATOR_UNAVAILABLE: cannot reach the coordinator at ${rest}: its TLS certificate is not trusted`);
      expect(r.stderr).toContain('pass --ca FILE (or set MEDFED_CA_FILE)');
      expect(r.stderr).not.toContain('fetch failed');
    }
    const exported = await medfed(['audit', 'export', '--coordinator', rest, '--key-file', t.coordinator.adminKeyFile, '--out', join(work, 'x.tar.gz')]);
    expect(exported.code).toBe(5);
    expect(exported.stderr).toContain('its TLS certificate is not trusted');
    expect(exported.stderr).not.toContain('fetch failed');
  }, 240_000);

  it('reads MEDFED_COORDINATOR_URL, MEDFED_API_KEY_FILE and MEDFED_CA_FILE, and a flag beats its variable', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const dead = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((r) => closed.close(r));
    const [fromEnv, fromDataDir, flags, refused] = await Promise.all([
      medfed(['sites', 'ls'], { MEDFED_COORDINATOR_URL: rest, MEDFED_API_KEY_FILE: t.coordinator.adminKeyFile, MEDFED_CA_FILE: tls.caCert }),
      // MEDFED_DATA_DIR: the bootstrap admin key at its default place.
      medfed(['sites', 'ls'], { MEDFED_COORDINATOR_URL: rest, MEDFED_DATA_DIR: t.dataDir, MEDFED_CA_FILE: tls.caCert }),
      // --coordinator over MEDFED_COORDINATOR_URL, --key-file over MEDFED_API_KEY, --ca over MEDFED_CA_FILE.
      medfed(['sites', 'ls', ...conn], { MEDFED_COORDINATOR_URL: dead, MEDFED_API_KEY: 'mfk_nope_nope', MEDFED_CA_FILE: join(work, 'absent.pem') }),
      // The variable alone: its dead coordinator is reported with the URL and ECONNREFUSED.
      medfed(['sites', 'ls', '--key-file', t.coordinator.adminKeyFile], { MEDFED_COORDINATOR_URL: dead }),
    ]);
    expect(fromEnv.code).toBe(0);
    expect(fromDataDir.code).toBe(0);
    expect(flags.stderr).toBe('');
    expect(flags.code).toBe(0);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain(`cannot reach the coordinator at ${dead}: connection refused (ECONNREFUSED)`);
  }, 240_000);

  it('exits 6 (AUTH) for a refused or missing credential, 3 (CONFIG) for an unreadable CA, 2 (USAGE) for a bad URL', async () => {
    const [bad, none, ca, url] = await Promise.all([
      medfed(['sites', 'ls', '--coordinator', rest, '--ca', tls.caCert], { MEDFED_API_KEY: 'mfk_nope_nope' }),
      medfed(['jobs', 'ls', '--coordinator', rest, '--ca', tls.caCert]),
      medfed(['sites', 'ls', ...conn.slice(0, 4), '--ca', join(work, 'absent.pem')]),
      medfed(['sites', 'ls', '--coordinator', 'coordinator:8080']),
    ]);
    expect(bad.code).toBe(6);
    expect(bad.stderr).toMatch(/^medfed: error AUTH_/);
    expect(none.code).toBe(6);
    expect(none.stderr).toContain('AUTH_KEY_FILE_UNREADABLE');
    expect(ca.code).toBe(3);
    expect(ca.stderr).toContain('CONFIG_CA_UNREADABLE');
    expect(url.code).toBe(2);
    expect(url.stderr).toContain('USAGE_COORDINATOR_URL');
  }, 240_000);

  it('audit export takes --key-file and --ca and works under TLS without NODE_EXTRA_CA_CERTS', async () => {
    const created = await medfed(['admin', 'create-key', '--role', 'auditor', '--name', 'Audrey Auditor', ...conn]);
    expect(created.code).toBe(0);
    const auditorKey = join(work, 'auditor.key');
    await writeFile(auditorKey, created.stdout, { mode: 0o600 });
    const out = join(work, 'audit.tar.gz');
    const exported = await medfed(['audit', 'export', '--coordinator', rest, '--key-file', auditorKey, '--ca', tls.caCert, '--out', out]);
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain(`wrote ${out}`);
    // The admin key is no auditor: 8 (REFUSED), as the command documents.
    const [verified, asAdmin] = await Promise.all([medfed(['audit', 'verify', out]), medfed(['audit', 'export', ...conn, '--out', join(work, 'admin.tar.gz')])]);
    // Intact, but nothing pinned: 9, origin unverified (pinned verification: test/e2e/trust-bundle.test.ts).
    expect(verified.code).toBe(9);
    expect(verified.stdout + verified.stderr).toContain('origin unverified');
    expect(asAdmin.code).toBe(8);
    expect(asAdmin.stderr).toContain('the coordinator answered 403');
  }, 240_000);
});
