import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeTrustBundle } from '@medfed/proto/trust/index';
import { createDevCa } from '../../../coordinator/src/keys/dev-ca.js';
import { bundleContents } from '../../../proto/test/trust/fixtures.js';
import { runCli } from '../../../test/support/cli.js';

describe('medfed agent trust import / show (exit codes and output)', () => {
  let work: string;
  let v1: { dir: string; fingerprint: string };
  let v2: { dir: string; fingerprint: string };
  const stateDir = () => join(work, 'state');

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'medfed-agent-trust-'));
    const contents = await bundleContents();
    v1 = { dir: join(work, 'v1'), ...(await writeTrustBundle(join(work, 'v1'), contents)) };
    // Version 2 rotates to a CA that expires in 12 days.
    const files = { ...contents.files, ca: createDevCa({ days: 12 }).certPem };
    v2 = { dir: join(work, 'v2'), ...(await writeTrustBundle(join(work, 'v2'), { ...contents, version: 2, files })) };
  });
  afterAll(async () => rm(work, { recursive: true, force: true }));

  it('refuses a malformed fingerprint as usage (exit 2)', async () => {
    const run = await runCli(['agent', 'trust', 'import', v1.dir, '--fingerprint', 'ABCD-EFGH', '--state-dir', stateDir()]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('TRUST_BUNDLE_FINGERPRINT_INVALID');
  }, 120_000);

  it('pins version 2, warns about its CA expiring, and refuses version 1 afterwards (exit 8)', async () => {
    const pin = await runCli(['agent', 'trust', 'import', v2.dir, '--fingerprint', v2.fingerprint, '--state-dir', stateDir()]);
    expect(pin.code).toBe(0);
    expect(pin.stderr).toMatch(/^medfed agent trust import: warning: certificate ca expires on \S+ \(in 1[12] days\)$/m);

    const older = await runCli(['agent', 'trust', 'import', v1.dir, '--fingerprint', v1.fingerprint, '--state-dir', stateDir()]);
    expect(older.code).toBe(8);
    expect(older.stderr).toContain('TRUST_BUNDLE_VERSION_OLDER');

    const show = await runCli(['agent', 'trust', 'status', '--state-dir', stateDir(), '--expiry-warning-days', '7']);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`trust bundle version 2, fingerprint ${v2.fingerprint}`);
    expect(show.stderr).toBe(''); // 12 days left, 7-day threshold
    const strict = await runCli(['agent', 'trust', 'show', '--state-dir', stateDir()]);
    expect(strict.stderr).toMatch(/^medfed agent trust show: warning: certificate ca expires on /m);
  }, 240_000);
});
