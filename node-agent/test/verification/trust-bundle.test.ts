import { mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeTrustBundle } from '@medfed/proto/trust/index';
import { createDevCa } from '../../../coordinator/src/keys/dev-ca.js';
import { bundleContents } from '../../../proto/test/trust/fixtures.js';
import { loadAgentConfig } from '../../src/config/load.js';
import { createModelVerifier } from '../../src/verification/create-verifier.js';
import {
  importTrustBundle, pinnedTrustDir, pinnedTrustRoot, previousTrustVersions, readPinnedTrust,
} from '../../src/verification/trust-bundle.js';

const BY = { by: 'steward-lee' };

describe('pinning the coordinator trust bundle at a site (medfed agent trust import)', () => {
  let work: string;
  let contents: Awaited<ReturnType<typeof bundleContents>>;
  const exported: Record<string, { dir: string; fingerprint: string }> = {};

  /** Exports a bundle like `medfed trust export` into work/<name>. */
  async function exportAs(name: string, overrides: Partial<typeof contents>): Promise<{ dir: string; fingerprint: string }> {
    const dir = join(work, name);
    const { fingerprint } = await writeTrustBundle(dir, { ...contents, ...overrides });
    exported[name] = { dir, fingerprint };
    return exported[name];
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'medfed-trust-pin-'));
    contents = await bundleContents();
    await exportAs('v1', { version: 1 });
    await exportAs('v2', { version: 2, files: { ...contents.files, ca: createDevCa({ commonName: 'rotated CA' }).certPem } });
    await exportAs('v2-other', { version: 2, files: { ...contents.files, ca: createDevCa({ commonName: 'another rotated CA' }).certPem } });
  });
  afterAll(async () => rm(work, { recursive: true, force: true }));

  it('refuses a wrong fingerprint, naming both, and pins nothing', async () => {
    const stateDir = join(work, 'state-wrong');
    const err = await importTrustBundle(stateDir, exported.v1!.dir, exported.v2!.fingerprint, BY).then(() => null, (e: { code: string; message: string }) => e);
    expect(err).toMatchObject({ code: 'TRUST_BUNDLE_FINGERPRINT_MISMATCH' });
    expect(err!.message).toContain(exported.v1!.fingerprint);
    expect(err!.message).toContain(exported.v2!.fingerprint);
    await expect(stat(pinnedTrustRoot(stateDir))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('pins a bundle whose fingerprint matches, private to the agent (0700 directories, 0600 files)', async () => {
    const stateDir = join(work, 'state-a');
    const r = await importTrustBundle(stateDir, exported.v1!.dir, exported.v1!.fingerprint.toLowerCase(), BY);
    expect(r).toMatchObject({ outcome: 'pinned', previous: null });
    expect(await readlink(pinnedTrustDir(stateDir))).toBe('v1');
    for (const dir of [pinnedTrustRoot(stateDir), join(pinnedTrustRoot(stateDir), 'v1')]) expect((await stat(dir)).mode & 0o777).toBe(0o700);
    for (const f of ['trust.json', 'ca.pem', 'manifest-jwks.json', 'token-jwks.json', 'checkpoint.vkey']) {
      expect((await stat(join(pinnedTrustRoot(stateDir), 'v1', f))).mode & 0o777).toBe(0o600);
    }
    expect((await readPinnedTrust(stateDir))!.fingerprint).toBe(exported.v1!.fingerprint);
    const record = JSON.parse((await readFile(join(pinnedTrustRoot(stateDir), 'imports.ndjson'), 'utf8')).trim());
    expect(record).toMatchObject({ version: 1, fingerprint: exported.v1!.fingerprint, previous: null, by: 'steward-lee' });
    expect(await importTrustBundle(stateDir, exported.v1!.dir, exported.v1!.fingerprint, BY)).toMatchObject({ outcome: 'unchanged' });
  });

  it('replaces the pinned version with a newer one and keeps the older for audit', async () => {
    const stateDir = join(work, 'state-a');
    const r = await importTrustBundle(stateDir, exported.v2!.dir, exported.v2!.fingerprint, BY);
    expect(r).toMatchObject({ outcome: 'pinned', previous: { version: 1, fingerprint: exported.v1!.fingerprint } });
    expect(await readlink(pinnedTrustDir(stateDir))).toBe('v2');
    expect((await readPinnedTrust(stateDir))!.manifest.version).toBe(2);
    expect((await stat(join(pinnedTrustRoot(stateDir), 'v1', 'trust.json'))).isFile()).toBe(true);
    expect(await previousTrustVersions(stateDir)).toEqual([expect.objectContaining({ version: 1, fingerprint: exported.v1!.fingerprint })]);
  });

  it('refuses an older version, and the same version with other content; the pinned one stays', async () => {
    const stateDir = join(work, 'state-a');
    await expect(importTrustBundle(stateDir, exported.v1!.dir, exported.v1!.fingerprint, BY)).rejects.toMatchObject({ code: 'TRUST_BUNDLE_VERSION_OLDER' });
    await expect(importTrustBundle(stateDir, exported['v2-other']!.dir, exported['v2-other']!.fingerprint, BY)).rejects.toMatchObject({ code: 'TRUST_BUNDLE_VERSION_REUSED' });
    expect((await readPinnedTrust(stateDir))!.fingerprint).toBe(exported.v2!.fingerprint);
  });

  it('gives the agent the pinned anchors and CA where its config sets none', async () => {
    const stateDir = join(work, 'state-a');
    const base = { siteId: 'site-a', 'coordinator.grpc': 'coordinator.example:9443', 'data.csv': 'x.csv', 'data.label': 'y', stateDir };
    const pinned = await loadAgentConfig({ env: {}, overrides: base });
    expect(pinned.trust.manifestJwks).toBe(join(pinnedTrustDir(stateDir), 'manifest-jwks.json'));
    expect(pinned.trust.checkpointKey).toBe(contents.files['log-key']!.toString().trim());
    expect(pinned.coordinator.tls?.ca).toBe(join(pinnedTrustDir(stateDir), 'ca.pem'));

    const own = join(work, 'own-jwks.json');
    await writeFile(own, contents.files['manifest-jwks']!);
    const configured = await loadAgentConfig({ env: {}, overrides: { ...base, 'trust.manifestJwks': own, 'trust.checkpointKey': 'configured', 'coordinator.tls.ca': '/etc/ca.pem' } });
    expect(configured.trust).toMatchObject({ manifestJwks: own, checkpointKey: 'configured' });
    expect(configured.coordinator.tls?.ca).toBe('/etc/ca.pem');
    expect((await loadAgentConfig({ env: {}, overrides: base, pinnedTrust: false })).trust.manifestJwks).toBeUndefined();
  });

  it('lets a production agent start with the pinned anchors only, and still refuses one with none', async () => {
    const stateDir = join(work, 'state-a');
    const config = await loadAgentConfig({ env: {}, overrides: { env: 'production', siteId: 'site-a', 'coordinator.grpc': 'c.example:9443', 'data.csv': 'x.csv', 'data.label': 'y', stateDir } });
    const warnings: string[] = [];
    await createModelVerifier({ env: 'production', siteId: 'site-a', stateDir, trust: config.trust, onWarning: (m) => warnings.push(m) });
    expect(warnings.filter((w) => w.includes('MODEL VERIFICATION IS OFF'))).toEqual([]);

    const bare = join(work, 'state-bare');
    const none = await loadAgentConfig({ env: {}, overrides: { env: 'production', siteId: 'site-a', 'coordinator.grpc': 'c.example:9443', 'data.csv': 'x.csv', 'data.label': 'y', stateDir: bare } });
    await expect(createModelVerifier({ env: 'production', siteId: 'site-a', stateDir: bare, trust: none.trust, onWarning: () => {} }))
      .rejects.toMatchObject({ code: 'TRUST_ANCHORS_MISSING' });
  });

  it('refuses to start on a pinned bundle changed on disk', async () => {
    const stateDir = join(work, 'state-damaged');
    await importTrustBundle(stateDir, exported.v1!.dir, exported.v1!.fingerprint, BY);
    const config = await loadAgentConfig({ env: {}, overrides: { siteId: 'site-a', 'coordinator.grpc': 'c.example:9443', 'data.csv': 'x.csv', 'data.label': 'y', stateDir } });
    await writeFile(join(pinnedTrustDir(stateDir), 'manifest-jwks.json'), contents.files['manifest-jwks']!.toString().replace('"kid"', ' "kid"'));
    await expect(createModelVerifier({ env: 'development', siteId: 'site-a', stateDir, trust: config.trust, onWarning: () => {} }))
      .rejects.toMatchObject({ code: 'TRUST_ANCHORS_INVALID' });
  });

  it('warns at start when the coordinator CA expires within the threshold', async () => {
    const stateDir = join(work, 'state-ca');
    const shortLived = join(work, 'short-ca.pem');
    await writeFile(shortLived, createDevCa({ days: 5 }).certPem);
    const warnings: string[] = [];
    await createModelVerifier({ env: 'development', siteId: 'site-a', stateDir, coordinatorCa: shortLived, onWarning: (m) => warnings.push(m) });
    expect(warnings.filter((w) => /certificate coordinator-ca expires on .* \(in [45] days\)/.test(w))).toHaveLength(1);
    const quiet: string[] = [];
    await createModelVerifier({ env: 'development', siteId: 'site-a', stateDir, coordinatorCa: join(exported.v1!.dir, 'ca.pem'), onWarning: (m) => quiet.push(m) });
    expect(quiet.filter((w) => w.includes('coordinator-ca'))).toEqual([]);
  });
});
