import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { exportJWK, generateKeyPair } from 'jose';
import { packTarGz, readTarGz, throwawaySigner, type AuditEventInput } from '@medfed/proto/audit/index';
import { appendAuditEvent, exportAuditBundle } from '@medfed/coordinator/audit/index';
import { openDatabase, openPglite, migrate } from '@medfed/coordinator/storage/index';
import { freshDatabase } from '../../../coordinator/test/support/databases.js';
import { ExitCode } from '../../src/exit-codes.js';
import { AUDIT_VERIFY_ORIGIN_UNVERIFIED, register, type AuditIo } from '../../src/commands/audit.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (t: string) => { out.push(t); }, stderr: (t: string) => { err.push(t); } } };
}

/** `medfed audit …` through commander exactly as main.ts wires it; resolves with the exit code. */
async function runAudit(argv: readonly string[], overrides: Partial<AuditIo> = {}): Promise<number> {
  let code: number | undefined;
  const sink = { stdout: overrides.stdout ?? (() => {}), stderr: overrides.stderr ?? (() => {}) };
  const program = new Command('medfed').exitOverride().configureOutput({ writeOut: sink.stdout, writeErr: sink.stderr });
  register(program, { env: process.env, ...overrides, ...sink, exit: (c) => { code = c; } });
  try {
    await program.parseAsync(['audit', ...argv], { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    code ??= err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
  }
  if (code === undefined) throw new Error('the command set no exit code');
  return code;
}

const event = (i: number): AuditEventInput => ({
  time: new Date(Date.parse('2025-03-01T08:00:00.000Z') + i * 1000).toISOString(), actor: `site:site-${i % 2 ? 'a' : 'b'}`, role: 'site', site: i % 2 ? 'site-a' : 'site-b',
  action: 'submission.receive', resource: `job:j-${i % 3}/round:1`, outcome: 'success', rule: 'policy:enrolled-site', request_id: `req-${i}`, details: { job: `j-${i % 3}`, round: 1, bytes: i },
});

describe('medfed audit', () => {
  let dir: string;
  let good: string;
  let tampered: string;
  let jwksFile: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'medfed-cli-audit-'));
    const db = await openPglite();
    await migrate(db);
    for (let i = 1; i <= 20; i++) await appendAuditEvent(db, event(i));
    const signer = await throwawaySigner();
    good = join(dir, 'good.tar.gz');
    await exportAuditBundle(db, { filter: {}, out: good, signer: signer.sign, jwks: signer.jwks, requestedBy: { actor: 'user:auditor@coord', role: 'auditor', rule: 'rbac:auditor' } });
    await db.close();
    jwksFile = join(dir, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify(signer.jwks));
    // The same bundle with seq 12 edited.
    const files = new Map<string, Buffer>();
    await readTarGz(good, ({ name }) => { const c: Buffer[] = []; return { onData: (b) => c.push(b), onEnd: () => files.set(name, Buffer.concat(c)) }; });
    const lines = files.get('events.ndjson')!.toString('utf8').split('\n');
    lines[11] = lines[11]!.replace('"bytes":12', '"bytes":13');
    const work = await mkdtemp(join(dir, 'bad-'));
    for (const [n, b] of files) await writeFile(join(work, n), n === 'events.ndjson' ? lines.join('\n') : b);
    tampered = join(dir, 'tampered.tar.gz');
    await packTarGz(work, [...files.keys()], tampered);
  }, 120_000);
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  describe('verify', () => {
    it('exits 9 (origin unverified) for an intact bundle without pins and says what it checked', async () => {
      const c = io();
      expect(await runAudit(['verify', good], c.io)).toBe(AUDIT_VERIFY_ORIGIN_UNVERIFIED);
      const text = c.out.join('');
      expect(text).toMatch(/chain\s+ok: seq 1\.\.21 \(21 entries, 0 hash-only\)/);
      expect(text).toMatch(/signature\s+verified/);
      expect(text.trim().endsWith('OK')).toBe(true);
    });

    it('exits VERIFY_FAILED and names the first bad event', async () => {
      const c = io();
      expect(await runAudit(['verify', tampered], c.io)).toBe(ExitCode.VERIFY_FAILED);
      expect(c.err.join('')).toMatch(/first bad event: AUDIT_HASH_MISMATCH: seq 12 \(line 12\)/);
    });

    it('prints the report as JSON with --json', async () => {
      const c = io();
      expect(await runAudit(['verify', tampered, '--json'], c.io)).toBe(ExitCode.VERIFY_FAILED);
      expect(JSON.parse(c.out.join(''))).toMatchObject({ ok: false, firstBadEvent: { seq: 12, code: 'AUDIT_HASH_MISMATCH' } });
    });

    it('checks against pinned keys with --jwks', async () => {
      expect(await runAudit(['verify', good, '--jwks', jwksFile], io().io)).toBe(AUDIT_VERIFY_ORIGIN_UNVERIFIED);
      const other = await throwawaySigner();
      const otherFile = join(dir, 'other-jwks.json');
      await writeFile(otherFile, JSON.stringify(other.jwks));
      const c = io();
      expect(await runAudit(['verify', good, '--jwks', otherFile], c.io)).toBe(ExitCode.VERIFY_FAILED);
      expect(c.err.join('')).toContain('AUDIT_SIGNATURE_INVALID');
    });

    it.each([
      [['verify'], ExitCode.USAGE],
      [['verify', 'a.tar.gz', 'b.tar.gz'], ExitCode.USAGE],
      [['verify', 'x.tar.gz', '--nope'], ExitCode.USAGE],
      [['verify', '/nonexistent/bundle.tar.gz'], ExitCode.DATA],
      [['frobnicate'], ExitCode.USAGE],
    ])('validates its input: %j exits %i', async (argv, code) => {
      const c = io();
      expect(await runAudit(argv, c.io)).toBe(code);
      expect(c.err.join('') + c.out.join('')).not.toBe('');
    });
  });

  describe('export through the coordinator API', () => {
    let server: Server;
    let base: string;
    const seen: IncomingMessage[] = [];
    beforeAll(async () => {
      server = createServer((req, res) => {
        seen.push(req);
        const url = new URL(req.url!, 'http://x');
        if (url.pathname !== '/v1/audit/export') { res.writeHead(404).end(); return; }
        const auth = req.headers.authorization;
        if (auth === 'Bearer not-an-auditor') { res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'AUTHZ_DENIED', message: 'auditor role required' })); return; }
        if (auth !== 'Bearer good-token') { res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'AUTH_TOKEN_INVALID', message: 'bad token' })); return; }
        res.writeHead(200, { 'content-type': 'application/gzip' });
        createReadStream(good).pipe(res);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => { await new Promise((r) => server.close(r)); });

    it('streams the bundle to --out with the filter and the bearer token', async () => {
      const out = join(dir, 'api.tar.gz');
      const c = io();
      const code = await runAudit(['export', '--coordinator', base, '--token', 'good-token', '--job', 'j-1', '--from', '2025-03-01', '--out', out], c.io);
      expect(c.err.join('')).toBe('');
      expect(code).toBe(ExitCode.OK);
      const req = seen[seen.length - 1]!;
      const url = new URL(req.url!, 'http://x');
      expect(Object.fromEntries(url.searchParams)).toEqual({ job: 'j-1', from: '2025-03-01T00:00:00.000Z' });
      expect((await readFile(out)).equals(await readFile(good))).toBe(true);
      expect(await runAudit(['verify', out], io().io)).toBe(AUDIT_VERIFY_ORIGIN_UNVERIFIED);
    });

    it('takes the token from MEDFED_TOKEN', async () => {
      const out = join(dir, 'api-env.tar.gz');
      expect(await runAudit(['export', '--coordinator', base, '--out', out], { ...io().io, env: { MEDFED_TOKEN: 'good-token' } })).toBe(ExitCode.OK);
    });

    it.each([
      ['bad-token', ExitCode.AUTH, /401: AUTH_TOKEN_INVALID/],
      ['not-an-auditor', ExitCode.REFUSED, /403: AUTHZ_DENIED: auditor role required/],
    ])('maps a refusal (token %s) to its exit code and leaves no file', async (token, code, message) => {
      const out = join(dir, `refused-${token}.tar.gz`);
      const c = io();
      expect(await runAudit(['export', '--coordinator', base, '--token', token, '--out', out], c.io)).toBe(code);
      expect(c.err.join('')).toMatch(message);
      await expect(readFile(out)).rejects.toThrow();
    });

    it('exits AUTH without a token and UNREACHABLE when nothing listens', async () => {
      expect(await runAudit(['export', '--coordinator', base, '--out', join(dir, 'n.tar.gz')], { ...io().io, env: {} })).toBe(ExitCode.AUTH);
      const closed = createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const port = (closed.address() as AddressInfo).port;
      await new Promise((r) => closed.close(r));
      expect(await runAudit(['export', '--coordinator', `http://127.0.0.1:${port}`, '--token', 't', '--out', join(dir, 'n.tar.gz')], { ...io().io, env: {} })).toBe(ExitCode.UNREACHABLE);
    });

    it.each([
      [['export', '--coordinator', 'http://x', '--token', 't'], /--out FILE.tar.gz is required/],
      [['export', '--out', 'x.zip', '--coordinator', 'http://x'], /must name a .tar.gz/],
      [['export', '--out', 'x.tar.gz', '--from', 'last week', '--coordinator', 'http://x'], /--from must be an ISO 8601/],
      [['export', '--out', 'x.tar.gz', '--from', '2025-02-01', '--to', '2025-01-01', '--coordinator', 'http://x'], /is after --to/],
      [['export', '--out', 'x.tar.gz', '--coordinator', 'http://x', '--local', '/tmp'], /choose one source/],
      [['export', '--out', 'x.tar.gz', '--local', '/nonexistent/pgdata'], /not an existing database directory/],
      [['export', '--out', 'x.tar.gz', '--coordinator', 'ftp://x'], /http\(s\) URL/],
      [['export', '--out', 'x.tar.gz', '--site', 'Site A', '--coordinator', 'http://x'], /--site must be a site id/],
      [['export', '--out', 'x.tar.gz'], /give a source/],
    ])('refuses bad usage %j', async (argv, message) => {
      const c = io();
      expect(await runAudit(argv, { ...c.io, env: {} })).toBe(ExitCode.USAGE);
      expect(c.err.join('')).toMatch(message);
    });
  });

  describe('export straight from a database', () => {
    it('builds a bundle from PostgreSQL, signed with --signing-key, that verifies against the pinned public key', async () => {
      const t = await freshDatabase('postgres');
      try {
        for (let i = 1; i <= 9; i++) await appendAuditEvent(t.db, event(i));
        const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
        const keyFile = join(dir, 'signing.jwk');
        await writeFile(keyFile, JSON.stringify({ ...(await exportJWK(privateKey)), alg: 'ES256', kid: 'coord-1' }));
        const pinned = join(dir, 'coord-jwks.json');
        await writeFile(pinned, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), alg: 'ES256', kid: 'coord-1' }] }));
        const out = join(dir, 'pg.tar.gz');
        const c = io();
        expect(await runAudit(['export', '--database-url', t.url!, '--signing-key', keyFile, '--site', 'site-a', '--out', out], c.io)).toBe(ExitCode.OK);
        expect(c.out.join('')).toMatch(/10 entries \(seq 1\.\.10, \d+ hash-only\)/);
        expect(await runAudit(['verify', out, '--jwks', pinned], io().io)).toBe(AUDIT_VERIFY_ORIGIN_UNVERIFIED);
      } finally {
        await t.drop();
      }
    });

    it('builds a bundle from an embedded database directory with --local, warning about the throwaway key', async () => {
      const dataDir = join(dir, 'pgdata');
      const db = await openDatabase({ dataDir });
      for (let i = 1; i <= 3; i++) await appendAuditEvent(db, event(i));
      await db.close();
      const out = join(dir, 'local.tar.gz');
      const c = io();
      expect(await runAudit(['export', '--local', dataDir, '--out', out], c.io)).toBe(ExitCode.OK);
      expect(c.err.join('')).toMatch(/throwaway key/);
      expect(await runAudit(['verify', out], io().io)).toBe(AUDIT_VERIFY_ORIGIN_UNVERIFIED);
    }, 60_000);

    it('refuses an unusable signing key with CONFIG', async () => {
      const keyFile = join(dir, 'public-only.jwk');
      await writeFile(keyFile, JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', alg: 'ES256', kid: 'k' }));
      const c = io();
      expect(await runAudit(['export', '--local', join(dir, 'pgdata'), '--signing-key', keyFile, '--out', join(dir, 'k.tar.gz')], c.io)).toBe(ExitCode.CONFIG);
      expect(c.err.join('')).toMatch(/private JWK/);
    });
  });

  describe('help and registration', () => {
    it('prints help for each action', async () => {
      for (const [argv, text] of [[['export', '--help'], '--database-url <url>'], [['verify', '-h'], '--jwks <file>'], [['--help'], 'export']] as const) {
        const c = io();
        expect(await runAudit(argv, c.io)).toBe(ExitCode.OK);
        expect(c.out.join('')).toContain(text);
      }
    });

    it('sets process.exitCode through the default io', async () => {
      const program = new Command('medfed').exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
      register(program);
      const write = process.stdout.write;
      const writeErr = process.stderr.write;
      process.stdout.write = (() => true) as typeof process.stdout.write;
      process.stderr.write = (() => true) as typeof process.stderr.write;
      const previous = process.exitCode;
      try {
        await program.parseAsync(['node', 'medfed', 'audit', 'verify', tampered]);
        expect(process.exitCode).toBe(ExitCode.VERIFY_FAILED);
      } finally {
        process.exitCode = previous;
        process.stdout.write = write;
        process.stderr.write = writeErr;
      }
    });
  });
});
