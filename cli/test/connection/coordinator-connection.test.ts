import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDevCa, type DevCaFiles } from '@medfed/coordinator/keys/index';
import { CliError } from '../../src/fail.js';
import { ExitCode } from '../../src/exit-codes.js';
import { connect, CONNECTION_ERRORS, coordinatorUrl, DEFAULT_COORDINATOR, resolveCa, resolveCredential, type Env } from '../../src/coordinator-connection.js';
import { CoordinatorRefusal, RestClient } from '../../src/federation/rest-client.js';

/** Every error the tests below saw: the exit-code table must hold each with the same exit code. */
const seen: CliError[] = [];

/** The CliError a promise rejects with (fails the test if it resolves or rejects with anything else). */
async function refusal(p: Promise<unknown>): Promise<CliError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(CliError);
  seen.push(err as CliError);
  return err as CliError;
}

function listen(server: Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
}

const close = (server: Server) => new Promise((r) => { server.close(r); server.closeAllConnections(); });

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createHttpServer();
  const port = await listen(s);
  await close(s);
  return port;
}

describe('coordinator-connection: one precedence, flag > environment > default', () => {
  let dir: string;
  const files: Record<string, string> = {};
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'medfed-conn-'));
    for (const name of ['flag', 'env', 'data']) {
      const file = name === 'data' ? join(dir, 'admin-api-key') : join(dir, `${name}.key`);
      await writeFile(file, `mfk_${name}_secret\n`, { mode: 0o600 });
      files[name] = file;
    }
    files.exposed = join(dir, 'exposed.key');
    await writeFile(files.exposed, 'mfk_x_y', { mode: 0o600 });
    await chmod(files.exposed, 0o644);
    files.empty = join(dir, 'empty.key');
    await writeFile(files.empty, '  \n', { mode: 0o600 });
  });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  describe('coordinator URL', () => {
    it.each<[string, { coordinator?: string }, Env, string]>([
      ['the flag over the environment', { coordinator: 'https://flag.example:8443/' }, { MEDFED_COORDINATOR_URL: 'https://env.example' }, 'https://flag.example:8443'],
      ['MEDFED_COORDINATOR_URL over the older MEDFED_COORDINATOR', {}, { MEDFED_COORDINATOR_URL: 'https://env.example', MEDFED_COORDINATOR: 'https://old.example' }, 'https://env.example'],
      ['MEDFED_COORDINATOR when alone', {}, { MEDFED_COORDINATOR: 'http://old.example:8080' }, 'http://old.example:8080'],
      ['the default otherwise (an empty variable is unset)', {}, { MEDFED_COORDINATOR_URL: '' }, DEFAULT_COORDINATOR],
      ['a path prefix kept', { coordinator: 'https://gw.example/medfed/' }, {}, 'https://gw.example/medfed'],
    ])('%s', (_why, flags, env, expected) => {
      expect(coordinatorUrl(flags, env)).toBe(expected);
    });

    it('has no default for a command with other sources', () => {
      expect(coordinatorUrl({}, {}, { fallback: false })).toBeUndefined();
    });

    it.each<[{ coordinator?: string }, Env, RegExp]>([
      [{ coordinator: 'ftp://x' }, {}, /--coordinator ftp:\/\/x is not an http\(s\) URL/],
      [{ coordinator: '127.0.0.1:8080' }, {}, /--coordinator 127\.0\.0\.1:8080 is not an http\(s\) URL/],
      [{}, { MEDFED_COORDINATOR_URL: 'coordinator' }, /MEDFED_COORDINATOR_URL coordinator is not an http\(s\) URL/],
    ])('refuses %j %j as a usage error naming where it came from', (flags, env, message) => {
      let err: unknown;
      try { coordinatorUrl(flags, env); } catch (e) { err = e; }
      seen.push(err as CliError);
      expect(err).toMatchObject({ code: 'USAGE_COORDINATOR_URL', exitCode: ExitCode.USAGE });
      expect((err as Error).message).toMatch(message);
    });
  });

  describe('credential', () => {
    it.each<[string, () => { token?: string; keyFile?: string }, () => Env, object]>([
      ['--token over everything', () => ({ token: 'tok-flag' }), () => ({ MEDFED_TOKEN: 'tok-env', MEDFED_API_KEY: 'mfk_env' }), { token: 'tok-flag' }],
      ['--key-file over MEDFED_TOKEN and MEDFED_API_KEY', () => ({ keyFile: files.flag! }), () => ({ MEDFED_TOKEN: 'tok-env', MEDFED_API_KEY: 'mfk_env' }), { apiKey: 'mfk_flag_secret' }],
      ['MEDFED_TOKEN over MEDFED_API_KEY', () => ({}), () => ({ MEDFED_TOKEN: 'tok-env', MEDFED_API_KEY: 'mfk_env' }), { token: 'tok-env' }],
      ['MEDFED_API_KEY over MEDFED_API_KEY_FILE', () => ({}), () => ({ MEDFED_API_KEY: ' mfk_env ', MEDFED_API_KEY_FILE: files.env! }), { apiKey: 'mfk_env' }],
      ['MEDFED_API_KEY_FILE over the default key file', () => ({}), () => ({ MEDFED_API_KEY_FILE: files.env!, MEDFED_DATA_DIR: dir }), { apiKey: 'mfk_env_secret' }],
      ['the default: <MEDFED_DATA_DIR>/admin-api-key', () => ({}), () => ({ MEDFED_DATA_DIR: dir, MEDFED_TOKEN: '' }), { apiKey: 'mfk_data_secret' }],
    ])('%s', async (_why, flags, env, expected) => {
      expect(await resolveCredential(flags(), env())).toEqual(expected);
    });

    it('refuses --token with --key-file as a usage error', async () => {
      expect(await refusal(resolveCredential({ token: 't', keyFile: files.flag! }, {}))).toMatchObject({ code: 'USAGE_CREDENTIAL_CONFLICT', exitCode: ExitCode.USAGE });
    });

    it.each<[string, () => { keyFile?: string }, () => Env, string, RegExp]>([
      ['a missing --key-file', () => ({ keyFile: join(dir, 'absent.key') }), () => ({}), 'AUTH_KEY_FILE_UNREADABLE', /absent\.key \(--key-file\): ENOENT; give --key-file/],
      ['a missing MEDFED_API_KEY_FILE', () => ({}), () => ({ MEDFED_API_KEY_FILE: join(dir, 'absent.key') }), 'AUTH_KEY_FILE_UNREADABLE', /\(MEDFED_API_KEY_FILE\): ENOENT/],
      ['no credential at all', () => ({}), () => ({ MEDFED_DATA_DIR: join(dir, 'nowhere') }), 'AUTH_KEY_FILE_UNREADABLE', /the default key file: no credential was given/],
      ['a key file others can read', () => ({ keyFile: files.exposed! }), () => ({}), 'AUTH_KEY_FILE_EXPOSED', /mode 644\); run chmod 600/],
      ['an empty key file', () => ({ keyFile: files.empty! }), () => ({}), 'AUTH_KEY_FILE_UNREADABLE', /it is empty/],
      ['an empty --token', () => ({ token: ' ' }), () => ({}), 'AUTH_TOKEN_MISSING', /--token is empty/],
    ])('exits AUTH for %s', async (_why, flags, env, code, message) => {
      const err = await refusal(resolveCredential(flags(), env()));
      expect(err).toMatchObject({ code, exitCode: ExitCode.AUTH });
      expect(err.message).toMatch(message);
    });
  });

  describe('CA', () => {
    it('takes --ca over MEDFED_CA_FILE, and neither means the system roots', async () => {
      await writeFile(join(dir, 'a.pem'), 'A');
      await writeFile(join(dir, 'b.pem'), 'B');
      expect(String(await resolveCa({ ca: join(dir, 'a.pem') }, { MEDFED_CA_FILE: join(dir, 'b.pem') }))).toBe('A');
      expect(String(await resolveCa({}, { MEDFED_CA_FILE: join(dir, 'b.pem') }))).toBe('B');
      expect(await resolveCa({}, {})).toBeUndefined();
    });

    it('exits CONFIG for an unreadable CA file, naming where it came from', async () => {
      const err = await refusal(resolveCa({}, { MEDFED_CA_FILE: join(dir, 'absent.pem') }));
      expect(err).toMatchObject({ code: 'CONFIG_CA_UNREADABLE', exitCode: ExitCode.CONFIG });
      expect(err.message).toMatch(/absent\.pem \(MEDFED_CA_FILE\): ENOENT/);
    });

    it('resolves the URL before reading any file: a bad URL is a usage error even without a credential', async () => {
      expect(await refusal(connect({ coordinator: 'nope' }, {}))).toMatchObject({ code: 'USAGE_COORDINATOR_URL' });
    });
  });
});

describe('RestClient: one exit-code table for what the coordinator answers, or does not', () => {
  let tls: DevCaFiles;
  let ca: Buffer;
  let https: Server;
  let http: Server;
  let httpsUrl: string;
  let httpUrl: string;
  // /v1/auth/token accepts only mfk_good; /v1/x answers with the status its query names.
  const handler: RequestListener = (req, res) => {
    const url = new URL(req.url!, 'http://x');
    const json = (status: number, body: unknown) => { res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)); };
    if (url.pathname === '/v1/auth/token') {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => (JSON.parse(body) as { api_key?: string }).api_key === 'mfk_good'
        ? json(200, { access_token: 'at', token_type: 'Bearer', expires_in: 900 })
        : json(401, { code: 'AUTH_API_KEY_INVALID', message: 'unknown or revoked API key' }));
      return;
    }
    if (url.pathname === '/v1/x') {
      const status = Number(url.searchParams.get('status') ?? 200);
      return status === 200 ? json(200, { ok: true }) : status === 502 ? void res.writeHead(502).end('bad gateway') : json(status, { code: `E${status}`, message: `status ${status}` });
    }
    json(404, { code: 'NOT_FOUND', message: `no route ${req.method} ${url.pathname}` });
  };

  beforeAll(async () => {
    tls = await writeDevCa(await mkdtemp(join(tmpdir(), 'medfed-conn-tls-')), ['127.0.0.1', 'localhost']);
    ca = await readFile(tls.caCert);
    https = createHttpsServer({ cert: await readFile(tls.serverCert), key: await readFile(tls.serverKey) }, handler);
    httpsUrl = `https://127.0.0.1:${await listen(https)}`;
    http = createHttpServer(handler);
    httpUrl = `http://127.0.0.1:${await listen(http)}`;
  });
  afterAll(async () => { await close(https); await close(http); });

  it('answers over https with --ca', async () => {
    expect(await new RestClient(httpsUrl, { apiKey: 'mfk_good' }, { ca }).call('GET', '/v1/x')).toEqual({ ok: true });
  });

  it('exits UNREACHABLE for a certificate it does not trust, naming the URL, the cause and --ca (never a bare "fetch failed")', async () => {
    const err = await refusal(new RestClient(httpsUrl, { apiKey: 'mfk_good' }).call('GET', '/v1/x'));
    expect(err).toMatchObject({ code: 'COORDINATOR_UNAVAILABLE', exitCode: ExitCode.UNREACHABLE });
    expect(err.message).toContain(`cannot reach the coordinator at ${httpsUrl}: its TLS certificate is not trusted`);
    expect(err.message).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT/);
    expect(err.message).toContain('pass --ca FILE (or set MEDFED_CA_FILE)');
    expect(err.message).not.toContain('fetch failed');
  });

  it('says which host name the certificate lacks', async () => {
    const other = await writeDevCa(await mkdtemp(join(tmpdir(), 'medfed-conn-tls-')), ['coordinator.example']);
    const server = createHttpsServer({ cert: await readFile(other.serverCert), key: await readFile(other.serverKey) }, handler);
    const url = `https://127.0.0.1:${await listen(server)}`;
    try {
      const err = await refusal(new RestClient(url, { token: 't' }, { ca: await readFile(other.caCert) }).call('GET', '/v1/x'));
      expect(err).toMatchObject({ code: 'COORDINATOR_UNAVAILABLE', exitCode: ExitCode.UNREACHABLE });
      expect(err.message).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID.*use a host name the certificate names/);
    } finally {
      await close(server);
    }
  });

  it('exits UNREACHABLE with ECONNREFUSED when nothing listens', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const err = await refusal(new RestClient(url, { token: 't' }).call('GET', '/v1/x'));
    expect(err).toMatchObject({ code: 'COORDINATOR_UNAVAILABLE', exitCode: ExitCode.UNREACHABLE });
    expect(err.message).toBe(`cannot reach the coordinator at ${url}: connection refused (ECONNREFUSED); check that the coordinator runs and that this is its REST address and port`);
  });

  it('suggests https:// when plain HTTP meets a TLS port', async () => {
    const err = await refusal(new RestClient(httpsUrl.replace('https:', 'http:'), { token: 't' }).call('GET', '/v1/x'));
    expect(err).toMatchObject({ code: 'COORDINATOR_UNAVAILABLE', exitCode: ExitCode.UNREACHABLE });
    expect(err.message).toContain('use an https:// URL');
  });

  it('suggests http:// when TLS meets a plain HTTP port', async () => {
    const err = await refusal(new RestClient(httpUrl.replace('http:', 'https:'), { token: 't' }).call('GET', '/v1/x'));
    expect(err).toMatchObject({ code: 'COORDINATOR_UNAVAILABLE', exitCode: ExitCode.UNREACHABLE });
    expect(err.message).toContain('use an http:// URL');
  });

  it.each<[string, number, string, ExitCode]>([
    ['a refused API key (token exchange 401)', 0, 'AUTH_API_KEY_INVALID', ExitCode.AUTH],
    ['401', 401, 'E401', ExitCode.AUTH],
    ['403', 403, 'E403', ExitCode.AUTH],
    ['409', 409, 'E409', ExitCode.FAILURE],
    ['a body that is not JSON', 502, 'HTTP_502', ExitCode.FAILURE],
  ])('maps %s to its exit code, keeping the status', async (_why, status, code, exit) => {
    const rest = new RestClient(httpUrl, { apiKey: status === 0 ? 'mfk_bad' : 'mfk_good' });
    const err = await refusal(rest.call('GET', `/v1/x?status=${status || 200}`));
    expect(err).toBeInstanceOf(CoordinatorRefusal);
    expect(err).toMatchObject({ code, exitCode: exit, status: status || 401 });
  });

  it('streams an accepted answer and refuses like call otherwise', async () => {
    const rest = new RestClient(httpsUrl, { token: 't' }, { ca });
    const chunks: Buffer[] = [];
    for await (const c of await rest.open('GET', '/v1/x', { accept: 'application/json' })) chunks.push(c as Buffer);
    expect(JSON.parse(Buffer.concat(chunks).toString())).toEqual({ ok: true });
    expect(await refusal(rest.open('GET', '/v1/x?status=403', { accept: 'application/json' }))).toMatchObject({ code: 'E403', exitCode: ExitCode.AUTH, status: 403 });
  });

  it('turns a missing revoke route into SITE_REVOKE_UNSUPPORTED, pointing at suspend', async () => {
    const err = await refusal(new RestClient(httpUrl, { token: 't' }).revokeSite('site-a', 'left the consortium'));
    expect(err).toMatchObject({ code: 'SITE_REVOKE_UNSUPPORTED', exitCode: ExitCode.FAILURE });
    expect(err.message).toContain('medfed sites suspend site-a');
  });
});

describe('the exit-code table (CONNECTION_ERRORS, rendered in docs/errors.md)', () => {
  it('holds every code the connection failed with above, with the exit code it had, and no other', () => {
    const table = new Map<string, number>(CONNECTION_ERRORS.map((e) => [e.code, ExitCode[e.exit]]));
    const connectionFailures = seen.filter((e) => !(e instanceof CoordinatorRefusal));
    for (const e of connectionFailures) expect([e.code, table.get(e.code)]).toEqual([e.code, e.exitCode]);
    expect([...new Set(connectionFailures.map((e) => e.code))].sort()).toEqual([...table.keys()].sort());
  });
});
