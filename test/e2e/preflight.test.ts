import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDevCa } from '@medfed/coordinator/keys/index';
import { identityPaths } from '@medfed/node-agent/identity/index';
import { clockSkewVerdict, PREFLIGHT_CHECKS } from '../../cli/src/commands/preflight.js';
import { runCli } from '../support/cli.js';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';

/**
 * `medfed agent init` and `medfed agent preflight` as a hospital runs them (the built CLI, separate
 * processes) against real coordinators: one plaintext on loopback, one with TLS whose certificate names
 * another host. Each misconfiguration must produce its own check, message, fix and exit code.
 */
interface Report { ok: boolean; exit: number; checks: { id: string; ok: boolean | null; detail: string; code?: string; fix?: string; exit?: number }[] }

describe('agent onboarding: init and preflight', () => {
  let plain: TestCoordinator;
  let tls: TestCoordinator;
  let dir: string;
  let config: string;
  let stateDir: string;
  let csv: string;
  let ca: { right: string; wrong: string };

  const preflight = async (args: string[]): Promise<{ code: number | null; report: Report; stdout: string }> => {
    const r = await runCli(['agent', 'preflight', '--format', 'json', '--timeout', '3000', ...args], { timeoutMs: 60_000 });
    return { code: r.code, report: JSON.parse(r.stdout) as Report, stdout: r.stdout };
  };
  const failed = (r: Report) => r.checks.filter((c) => c.ok === false).map((c) => c.id);
  const check = (r: Report, id: string) => r.checks.find((c) => c.id === id)!;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'medfed-preflight-'));
    const right = await writeDevCa(join(dir, 'ca-right'), ['coordinator.other.example']);
    const wrong = await writeDevCa(join(dir, 'ca-wrong'), ['127.0.0.1']);
    ca = { right: right.caCert, wrong: wrong.caCert };
    [plain, tls] = await Promise.all([
      startTestCoordinator('pglite', { 'auth.allowAnonymousNodes': false }),
      startTestCoordinator('pglite', { 'auth.allowAnonymousNodes': false, tls: { cert: right.serverCert, key: right.serverKey } }),
    ]);
    await plain.coordinator.engine.registerSite('site-a', 'site-a');
    csv = join(dir, 'site-a.csv');
    await writeFile(csv, `age,lactate,y\n${Array.from({ length: 30 }, (_, i) => `${40 + i},${(i % 7) / 3},${i % 2 ? 'yes' : 'no'}`).join('\n')}\n`);
    stateDir = join(dir, 'state');
    config = join(dir, 'agent.yaml');
  });
  afterAll(async () => {
    await Promise.all([plain?.stop(), tls?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('init writes a configuration agent start accepts, generates the key here and enrolls it', async () => {
    const res = await fetch(`${plain.coordinator.rest}/v1/sites/site-a/enrollment-codes`, { method: 'POST', headers: { authorization: `Bearer ${plain.coordinator.adminToken}` } });
    const { enrollmentCode } = await res.json() as { enrollmentCode: string };
    const missing = await runCli(['agent', 'init', '--non-interactive', '--out', config, '--site', 'site-a']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/USAGE_INIT_MISSING: give --coordinator, --data, --label, --code/);
    const r = await runCli(['agent', 'init', '--non-interactive', '--format', 'json', '--out', config, '--site', 'site-a', '--coordinator', plain.coordinator.grpc,
      '--data', csv, '--label', 'y', '--state-dir', stateDir, '--log-file', join(dir, 'agent.log'), '--code', enrollmentCode]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { config: string; enrolled: { site: string; keyThumbprint: string } };
    expect(out.enrolled.site).toBe('site-a');
    expect(await readFile(config, 'utf8')).toContain(`grpc: ${plain.coordinator.grpc}`);
    const identity = JSON.parse(await readFile(identityPaths(stateDir).identity, 'utf8')) as { keyThumbprint: string };
    expect(identity.keyThumbprint).toBe(out.enrolled.keyThumbprint);
    const again = await runCli(['agent', 'init', '--non-interactive', '--out', config, '--no-enroll', '--site', 'site-a', '--coordinator', plain.coordinator.grpc, '--data', csv, '--label', 'y']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('USAGE_INIT_EXISTS');
  });

  it('passes every network, token and data check against a healthy coordinator', async () => {
    const { code, report } = await preflight(['--config', config]);
    for (const id of ['config', 'reachable', 'tls', 'clock', 'token', 'data', 'schema']) expect([id, check(report, id).ok]).toEqual([id, true]);
    expect(check(report, 'token').detail).toContain('audience medfed-api');
    expect(code).toBe(check(report, 'sandbox').ok ? 0 : PREFLIGHT_CHECKS.sandbox.exit); // the sandbox depends on this host
  });

  it('gives each misconfiguration its own message, fix and exit code', async () => {
    const foreignIdentity = join(dir, 'state-foreign');
    await rm(foreignIdentity, { recursive: true, force: true });
    // an identity made for another coordinator: same key, another issuer
    await cp(stateDir, foreignIdentity, { recursive: true });
    const idFile = identityPaths(foreignIdentity).identity;
    const id = JSON.parse(await readFile(idFile, 'utf8')) as Record<string, unknown>;
    await writeFile(idFile, JSON.stringify({ ...id, issuer: 'https://another-coordinator.example' }), { mode: 0o600 });
    const badSchema = join(dir, 'bad.csv');
    await writeFile(badSchema, 'age,lactate\n1,2\n3,4\n');
    const closed = '127.0.0.1:1';
    const tlsAddr = tls.coordinator.grpc;

    const cases: [string, string[], string, RegExp][] = [
      ['reachable', ['--coordinator', closed], 'PREFLIGHT_UNREACHABLE', /does not accept connections/],
      ['tls', ['--ca', ca.right], 'PREFLIGHT_TLS_MISMATCH', /answers in plaintext/],
      ['tls', ['--coordinator', tlsAddr], 'PREFLIGHT_TLS_MISMATCH', /serves TLS but coordinator.tls is not set/],
      ['certChain', ['--coordinator', tlsAddr, '--ca', ca.wrong], 'PREFLIGHT_CERT_CHAIN', /does not chain to/],
      ['certName', ['--coordinator', tlsAddr, '--ca', ca.right], 'PREFLIGHT_CERT_NAME', /does not name 127\.0\.0\.1/],
      ['token', ['--state-dir', foreignIdentity], 'PREFLIGHT_TOKEN', /refused a token.*AUTH_ASSERTION_INVALID/],
      ['token', ['--audience', 'another-api'], 'PREFLIGHT_TOKEN', /audience medfed-api, expected another-api/],
      ['token', ['--state-dir', join(dir, 'never-enrolled')], 'PREFLIGHT_TOKEN', /enroll this agent first/],
      ['data', ['--data', join(dir, 'missing.csv')], 'PREFLIGHT_DATA_UNREADABLE', /cannot read data.csv .*ENOENT/],
      ['schema', ['--data', badSchema], 'PREFLIGHT_SCHEMA_INVALID', /\by\b/],
      ['sandbox', ['--bwrap', join(dir, 'no-bwrap')], 'PREFLIGHT_SANDBOX_UNAVAILABLE', /bwrap/],
    ];
    // The sandbox probe is the slow part: every case but the sandbox one points at a missing bwrap (the
    // sandbox check comes last in the order, so it never hides the case's own failure).
    const noBwrap = ['--bwrap', join(dir, 'no-bwrap')];
    const runs = await Promise.all(cases.map(([id, args]) => preflight(['--config', config, ...(id === 'sandbox' ? [] : noBwrap), ...args])));
    const seenExits = new Map<string, number>();
    cases.forEach(([id, , code, message], i) => {
      const { code: exit, report } = runs[i]!;
      const c = check(report, id);
      expect([id, c.ok, c.code]).toEqual([id, false, code]);
      expect(c.detail).toMatch(message);
      expect(c.fix!.length).toBeGreaterThan(30);
      expect(exit).toBe(PREFLIGHT_CHECKS[id as keyof typeof PREFLIGHT_CHECKS].exit);
      expect(failed(report)[0]).toBe(id); // nothing earlier failed: the exit code names this problem
      seenExits.set(id, exit!);
    });
    expect(new Set(seenExits.values()).size).toBe(seenExits.size); // one exit code per check
  });

  it('checks the data against a job before round 0 (--spec), each failure with its own exit code', async () => {
    // 2 of 30 rows hold values that do not parse, more than the default 5% (ages repeat, as real ones do)
    const tooMany = join(dir, 'too-many.csv');
    await writeFile(tooMany, `age,lactate,y\n${Array.from({ length: 30 }, (_, i) => `${i === 2 ? '12O' : 40 + (i % 10)},${i === 5 ? 'n.d.' : (i % 7) / 3},${i % 2 ? 'yes' : 'no'}`).join('\n')}\n`);
    const spec = join(dir, 'job-spec.json');
    await writeFile(spec, JSON.stringify({ name: 'lactate', features: ['age', 'lactate'], label: 'y', classes: ['false', 'true'] }));
    const noBwrap = ['--bwrap', join(dir, 'no-bwrap')];
    const cases: [string, string[], string, RegExp][] = [
      ['jobSpec', ['--spec', join(dir, 'missing-spec.json')], 'PREFLIGHT_JOB_SPEC_UNAVAILABLE', /cannot read --spec .*ENOENT/],
      ['jobData', ['--data', tooMany, '--spec', spec], 'PREFLIGHT_JOB_DATA_MISMATCH', /DATA_TOO_MANY_DROPPED: .*line 4: age "12O" is not a number; line 7: lactate "n\.d\." is not a number/],
    ];
    const runs = await Promise.all(cases.map(([, args]) => preflight(['--config', config, ...noBwrap, ...args])));
    cases.forEach(([id, , code, message], i) => {
      const { code: exit, report } = runs[i]!;
      expect([id, check(report, id).ok, check(report, id).code]).toEqual([id, false, code]);
      expect(check(report, id).detail).toMatch(message);
      expect(failed(report)[0]).toBe(id); // the network, token and schema checks passed
      expect(exit).toBe(PREFLIGHT_CHECKS[id as keyof typeof PREFLIGHT_CHECKS].exit);
    });
  });

  it('names a configuration problem with the key and the CONFIG exit code', async () => {
    const r = await runCli(['agent', 'preflight', '--config', config, '--coordinator', 'not-an-address']);
    expect(r.code).toBe(PREFLIGHT_CHECKS.config.exit);
    expect(r.stdout).toContain('coordinator.grpc');
    expect(r.stdout).toContain('PREFLIGHT_CONFIG_INVALID');
  });

  it('judges clock skew against the allowance, counting the round trip and 1 s token resolution', () => {
    expect(clockSkewVerdict(10_000, 10_000, 50, 5)).toEqual({ ok: true, skewSeconds: 0 });
    expect(clockSkewVerdict(16_000, 10_000, 0, 5)).toEqual({ ok: true, skewSeconds: 6 });
    expect(clockSkewVerdict(40_000, 10_000, 100, 5)).toEqual({ ok: false, skewSeconds: 30 });
    expect(clockSkewVerdict(10_000, 40_000, 100, 5)).toEqual({ ok: false, skewSeconds: -30 });
    expect(PREFLIGHT_CHECKS.clock.fix).toMatch(/NTP|chrony/);
  });
});
