import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { JobSpec } from '@medfed/proto';
import { personToken, rest } from '../../coordinator/test/auth/support.js';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';

const ADMIN_COMMAND = fileURLToPath(new URL('../../cli/dist/commands/admin.js', import.meta.url));
const COMMANDER = fileURLToPath(new URL('../../cli/node_modules/commander/index.js', import.meta.url));

/** Runs `medfed admin ...` from the built command module, as main.ts wires it (usage errors exit 2). */
async function medfedAdmin(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const runner = join(dir, 'admin-runner.mjs');
  await writeFile(runner, `import { Command, CommanderError } from ${JSON.stringify(COMMANDER)};
import { register } from ${JSON.stringify(ADMIN_COMMAND)};
const program = new Command('medfed').exitOverride();
register(program);
try { await program.parseAsync(process.argv); } catch (err) {
  if (err instanceof CommanderError) process.exit(err.code === 'commander.helpDisplayed' || err.code === 'commander.help' ? 0 : 2);
  throw err;
}
`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [runner, 'admin', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

describe('people: API keys, roles, sessions', () => {
  let t: TestCoordinator;
  let jobB: string;

  beforeAll(async () => {
    t = await startTestCoordinator('postgres', { 'auth.sessionIdleSeconds': 3 });
    for (const s of ['site-a', 'site-b']) await t.coordinator.engine.registerSite(s, s);
    const spec: JobSpec = {
      name: 'b only', features: ['f1'], label: 'y', classes: ['n', 'y'], model: { hidden: [], activation: 'relu' },
      training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 1 },
      rounds: 1, minSites: 1, roundDeadlineSeconds: 600, strategy: { name: 'fedavg' }, sites: ['site-b'], standardization: 'none',
    };
    jobB = (await t.coordinator.engine.createJob(spec, 'tester')).id;
  });
  afterAll(async () => {
    await t.stop();
  });

  it('medfed admin create-key uses the 0600 bootstrap key file and prints only the new key', async () => {
    const c = t.coordinator;
    expect((await stat(c.adminKeyFile)).mode & 0o777).toBe(0o600);
    const run = await medfedAdmin(t.dataDir, ['create-key', '--role', 'researcher', '--name', 'Rita Researcher', '--coordinator', c.rest, '--key-file', c.adminKeyFile]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^mfk_[a-z0-9]{16}_[A-Za-z0-9_-]{43}\n$/);
    const issued = await rest(c, 'POST', '/v1/auth/token', { body: { api_key: run.stdout.trim() } });
    expect(issued.status).toBe(200);
    expect(Object.keys(issued.body).sort()).toEqual(['access_token', 'expires_in', 'token_type']);
    expect(issued.body.token_type).toBe('Bearer');
    expect(issued.body.expires_in).toBeLessThanOrEqual(900);
    const me = await rest(c, 'GET', '/v1/auth/whoami', bearer(String(issued.body.access_token)));
    expect(me.body).toEqual({ sub: expect.stringMatching(/^key:/), role: 'researcher', site: null });
    // Only the hash is stored.
    const { rows } = await c.db.query<{ secret_hash: string }>('SELECT secret_hash FROM auth_api_keys');
    const secret = run.stdout.trim().split('_').slice(2).join('_'); // the secret itself may contain '_'
    expect(secret).toHaveLength(43);
    expect(JSON.stringify(rows)).not.toContain(secret);

    const clinician = await medfedAdmin(t.dataDir, ['create-key', '--role', 'clinician', '--name', 'Cleo', '--site', 'site-a', '--coordinator', c.rest, '--key-file', c.adminKeyFile]);
    expect(clinician.code).toBe(0);
    const noSite = await medfedAdmin(t.dataDir, ['create-key', '--role', 'clinician', '--name', 'Cleo', '--coordinator', c.rest, '--key-file', c.adminKeyFile]);
    expect(noSite.code).toBe(1);
    expect(noSite.stderr).toMatch(/AUTH_ROLE_INVALID/);
    const badRole = await medfedAdmin(t.dataDir, ['create-key', '--role', 'root', '--name', 'x', '--coordinator', c.rest, '--key-file', c.adminKeyFile]);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toMatch(/admin, site-steward, researcher, clinician, auditor/);
    const asResearcher = await medfedAdmin(t.dataDir, ['create-key', '--role', 'admin', '--name', 'escalate', '--coordinator', c.rest], { MEDFED_API_KEY: run.stdout.trim() });
    expect(asResearcher.code).toBe(6);
    expect(asResearcher.stderr).toMatch(/AUTH_ROLE_FORBIDDEN/);
  }, 60_000);

  it('applies the policy per role, and a site-bound role sees only its own site', async () => {
    const c = t.coordinator;
    const tokens = {
      // a session of its own: the CLI runs above logged in with the same bootstrap key
      admin: String((await rest(c, 'POST', '/v1/auth/token', { body: { api_key: c.adminKey } })).body.access_token),
      researcher: (await personToken(c, 'researcher')).token,
      auditor: (await personToken(c, 'auditor')).token,
      steward: (await personToken(c, 'site-steward', 'site-a')).token,
      clinician: (await personToken(c, 'clinician', 'site-a')).token,
    };
    type Who = keyof typeof tokens;
    const matrix: [Who, string, string, number][] = [
      ['admin', 'GET', '/v1/admin/api-keys', 200],
      ['auditor', 'GET', '/v1/admin/api-keys', 200],
      ['researcher', 'GET', '/v1/admin/api-keys', 403],
      ['steward', 'GET', '/v1/admin/api-keys', 403],
      ['researcher', 'GET', `/v1/jobs/${jobB}`, 200],
      ['auditor', 'GET', `/v1/jobs/${jobB}`, 200],
      ['clinician', 'GET', `/v1/jobs/${jobB}`, 403],
      ['steward', 'GET', `/v1/jobs/${jobB}`, 403],
      ['clinician', 'GET', '/v1/sites/site-a', 200],
      ['clinician', 'GET', '/v1/sites/site-b', 403],
      ['steward', 'POST', '/v1/sites/site-a/enrollment-codes', 201],
      ['steward', 'POST', '/v1/sites/site-b/enrollment-codes', 403],
      ['researcher', 'POST', '/v1/sites/site-a/enrollment-codes', 403],
      ['clinician', 'POST', `/v1/jobs/${jobB}/stop`, 403],
      ['steward', 'POST', '/v1/sites/site-a/reinstate', 403],
    ];
    const got = [];
    for (const [who, method, path] of matrix) got.push([who, method, path, (await rest(c, method, path, bearer(tokens[who]))).status]);
    expect(got).toEqual(matrix);

    const sites = async (who: Who) => ((await rest(c, 'GET', '/v1/sites', bearer(tokens[who]))).body.sites as { id: string }[]).map((s) => s.id);
    const jobs = async (who: Who) => ((await rest(c, 'GET', '/v1/jobs', bearer(tokens[who]))).body.jobs as { id: string }[]).map((j) => j.id);
    expect(await sites('clinician')).toEqual(['site-a']);
    expect(await sites('researcher')).toEqual(['site-a', 'site-b']);
    expect(await jobs('clinician')).toEqual([]);
    expect(await jobs('auditor')).toEqual([jobB]);
  });

  it('logs a session off after inactivity, refuses to refresh it, and ends it at logout', async () => {
    const c = t.coordinator;
    const { token, apiKey } = await personToken(c, 'auditor');
    expect((await rest(c, 'GET', '/v1/auth/whoami', bearer(token))).status).toBe(200);
    const refreshed = await rest(c, 'POST', '/v1/auth/token', { body: { refresh: true }, ...bearer(token) });
    expect(refreshed.status).toBe(200);
    await new Promise((r) => setTimeout(r, 4000)); // idle limit 3 s in this coordinator
    const idle = await rest(c, 'GET', '/v1/auth/whoami', bearer(String(refreshed.body.access_token)));
    expect(idle.body.code).toBe('AUTH_SESSION_IDLE');
    expect((await rest(c, 'POST', '/v1/auth/token', { body: { refresh: true }, ...bearer(token) })).body.code).toBe('AUTH_SESSION_IDLE');
    // A new login (presenting the key again) opens a new session.
    const again = await rest(c, 'POST', '/v1/auth/token', { body: { api_key: apiKey } });
    const fresh = String(again.body.access_token);
    expect((await rest(c, 'POST', '/v1/auth/logout', bearer(fresh))).status).toBe(200);
    expect((await rest(c, 'GET', '/v1/auth/whoami', bearer(fresh))).body.code).toBe('AUTH_SESSION_ENDED');
  }, 120_000);
});

describe('login with an external OpenID Connect provider', () => {
  let t: TestCoordinator;
  let jwksServer: Server;
  let fetches = 0;
  let providerKey: CryptoKey;
  let publicJwk: JWK;
  const ISSUER = 'https://idp.hospital.test';

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    providerKey = pair.privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'idp-key-1', alg: 'ES256', use: 'sig' };
    jwksServer = createServer((req, res) => {
      fetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', () => r()));
    const port = (jwksServer.address() as { port: number }).port;
    t = await startTestCoordinator('pglite', {
      'auth.oidc': { issuer: ISSUER, audience: 'medfed', jwksUri: `http://127.0.0.1:${port}/jwks`, roleClaim: 'medfed_role', siteClaim: 'medfed_site' },
    });
    await t.coordinator.engine.registerSite('site-a', 'site-a');
  });
  afterAll(async () => {
    await t.stop();
    await new Promise((r) => jwksServer.close(r));
  });

  const idToken = (claims: Record<string, unknown>, kid = 'idp-key-1', issuer = ISSUER) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid }).setIssuer(issuer).setAudience('medfed').setSubject('u-17')
      .setIssuedAt().setExpirationTime('5m').sign(providerKey);

  it('exchanges a provider token for a medfed session with the role from the configured claim', async () => {
    const c = t.coordinator;
    const r = await rest(c, 'POST', '/v1/auth/token', { body: { id_token: await idToken({ medfed_role: 'clinician', medfed_site: 'site-a' }) } });
    expect(r.status).toBe(200);
    expect(r.body.token_type).toBe('Bearer');
    const me = await rest(c, 'GET', '/v1/auth/whoami', bearer(String(r.body.access_token)));
    expect(me.body).toEqual({ sub: `oidc:${ISSUER}#u-17`, role: 'clinician', site: 'site-a' });
  });

  it('refuses bad provider tokens, and a flood of unknown kids does not make it refetch the keys', async () => {
    const c = t.coordinator;
    const code = async (token: string) => String((await rest(c, 'POST', '/v1/auth/token', { body: { id_token: token } })).body.code);
    expect(await code(await idToken({ medfed_role: 'researcher' }, 'idp-key-1', 'https://evil.test'))).toBe('AUTH_OIDC_TOKEN_INVALID');
    expect(await code(await idToken({}))).toBe('AUTH_OIDC_ROLE_MISSING');
    expect(await code(await idToken({ medfed_role: ['admin', 'auditor'] }))).toBe('AUTH_OIDC_ROLE_MISSING');
    expect(await code(await idToken({ medfed_role: 'clinician' }))).toBe('AUTH_OIDC_ROLE_MISSING'); // no site for a site role
    const before = fetches;
    for (let i = 0; i < 25; i++) expect(await code(await idToken({ medfed_role: 'admin' }, `unknown-${i}`))).toBe('AUTH_OIDC_TOKEN_INVALID');
    expect(fetches - before).toBeLessThanOrEqual(1);
  });

  it('answers AUTH_OIDC_UNAVAILABLE when the provider keys cannot be fetched, and AUTH_OIDC_DISABLED without a provider', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    const down = await startTestCoordinator('pglite', { 'auth.oidc': { issuer: ISSUER, audience: 'medfed', jwksUri: `http://127.0.0.1:${port}/jwks` } });
    try {
      const r = await rest(down.coordinator, 'POST', '/v1/auth/token', { body: { id_token: await idToken({ medfed_role: 'admin' }) } });
      expect(r.body.code).toBe('AUTH_OIDC_UNAVAILABLE');
      expect(r.status).toBe(503);
    } finally {
      await down.stop();
    }
    const none = await startTestCoordinator('pglite');
    try {
      expect((await rest(none.coordinator, 'POST', '/v1/auth/token', { body: { id_token: 'x.y.z' } })).body.code).toBe('AUTH_OIDC_DISABLED');
    } finally {
      await none.stop();
    }
  }, 240_000); // two coordinators start and stop in this test
});
