import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateNoteKey, NOTE_KEY_TYPE } from '../../src/tlog/note-keys.js';
import { TRUST_MANIFEST_FILE, readTrustBundle, writeTrustBundle } from '../../src/trust/index.js';
import { bundleContents, LOG_ORIGIN } from './fixtures.js';

describe('trust bundle files: written, read back, and refused when they are not what they say', () => {
  let root: string;
  let exported: string;
  let contents: Awaited<ReturnType<typeof bundleContents>>;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'medfed-trust-read-'));
    exported = join(root, 'bundle');
    contents = await bundleContents();
    await writeTrustBundle(exported, contents);
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  it('writes the four files and trust.json, which lists each with its SHA-256', async () => {
    expect((await readdir(exported)).sort()).toEqual(['ca.pem', 'checkpoint.vkey', 'manifest-jwks.json', 'token-jwks.json', 'trust.json']);
    const manifest = JSON.parse(await readFile(join(exported, TRUST_MANIFEST_FILE), 'utf8'));
    expect(manifest).toMatchObject({ format: 'medfed-trust-bundle/v1', version: 1, createdAt: '2026-01-02T03:04:05.678Z', coordinator: contents.coordinator });
    expect(manifest.files.map((f: { role: string }) => f.role)).toEqual(['ca', 'manifest-jwks', 'token-jwks', 'log-key']);
    const bundle = await readTrustBundle(exported);
    expect(Buffer.from(bundle.files.get('ca')!).toString('utf8')).toBe(contents.files.ca);
  });

  it('leaves the CA out for a plain-HTTP development coordinator', async () => {
    const dir = join(root, 'no-ca');
    const { ca: _ca, ...files } = contents.files;
    await writeTrustBundle(dir, { ...contents, files });
    expect((await readTrustBundle(dir)).files.has('ca')).toBe(false);
  });

  async function copyWith(name: string, content: string | Buffer, options: { relist?: boolean } = {}): Promise<string> {
    const dir = await mkdtemp(join(root, 'bad-'));
    for (const file of await readdir(exported)) await writeFile(join(dir, file), await readFile(join(exported, file)));
    await writeFile(join(dir, name), content);
    if (options.relist) {
      // Make trust.json list the changed file, so the content check (not the digest) must refuse it.
      const { createHash } = await import('node:crypto');
      const manifest = JSON.parse(await readFile(join(dir, TRUST_MANIFEST_FILE), 'utf8'));
      for (const f of manifest.files) f.sha256 = createHash('sha256').update(await readFile(join(dir, f.name))).digest('hex');
      await writeFile(join(dir, TRUST_MANIFEST_FILE), JSON.stringify(manifest));
    }
    return dir;
  }

  const refusal = async (dir: string) => readTrustBundle(dir).then(() => null, (e: { code: string; message: string }) => e);

  it('refuses a file that differs from the SHA-256 trust.json lists, naming it', async () => {
    const err = await refusal(await copyWith('token-jwks.json', '{"keys":[]}'));
    expect(err).toMatchObject({ code: 'TRUST_BUNDLE_INVALID' });
    expect(err!.message).toContain('token-jwks.json has SHA-256');
  });

  it.each([
    ['manifest-jwks.json', 'not json', 'is not JSON'],
    ['manifest-jwks.json', JSON.stringify({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43), d: 'B'.repeat(43), kid: 'k' }] }), 'private part'],
    ['token-jwks.json', JSON.stringify({ keys: [{ kty: 'oct', k: 'secret', kid: 'k' }] }), 'private or symmetric'],
    ['checkpoint.vkey', 'not a key\n', 'is not a signed-note verifier key'],
    ['checkpoint.vkey', `${generateNoteKey('another-log/log').verifierKey}\n`, `trust.json names log ${LOG_ORIGIN}`],
    ['checkpoint.vkey', `${generateNoteKey(LOG_ORIGIN, NOTE_KEY_TYPE.COSIGNATURE_V1).verifierKey}\n`, 'not a log\'s checkpoint key'],
    ['ca.pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'does not parse as X.509'],
    ['ca.pem', 'no certificate here\n', 'holds no PEM certificate'],
  ])('refuses %s when it is not what its role says (%s)', async (name, content, why) => {
    const err = await refusal(await copyWith(name, content, { relist: true }));
    expect(err).toMatchObject({ code: 'TRUST_BUNDLE_INVALID' });
    expect(err!.message).toContain(name);
    expect(err!.message).toContain(why);
  });

  it('refuses a CA file that holds a server certificate instead of a CA', async () => {
    const err = await refusal(await copyWith('ca.pem', contents.serverCertPem, { relist: true }));
    expect(err).toMatchObject({ code: 'TRUST_BUNDLE_INVALID' });
    expect(err!.message).toContain('is not a CA certificate');
  });

  it('refuses a trust.json with unknown members, a missing required file or a bad version', async () => {
    const manifest = JSON.parse(await readFile(join(exported, TRUST_MANIFEST_FILE), 'utf8'));
    for (const bad of [
      { ...manifest, extra: true },
      { ...manifest, files: manifest.files.filter((f: { role: string }) => f.role !== 'log-key') },
      { ...manifest, version: 0 },
      { ...manifest, version: 1.5 },
      { ...manifest, files: [...manifest.files, manifest.files[0]] },
      { ...manifest, files: manifest.files.map((f: { role: string; name: string }) => (f.role === 'ca' ? { ...f, name: '../ca.pem' } : f)) },
    ]) {
      expect(await refusal(await copyWith(TRUST_MANIFEST_FILE, JSON.stringify(bad)))).toMatchObject({ code: 'TRUST_BUNDLE_INVALID' });
    }
  });

  it('says so when a directory holds no bundle, or a listed file is missing', async () => {
    expect(await refusal(join(root, 'nowhere'))).toMatchObject({ code: 'TRUST_BUNDLE_MISSING' });
    const dir = await copyWith('ca.pem', '');
    await rm(join(dir, 'ca.pem'));
    expect(await refusal(dir)).toMatchObject({ code: 'TRUST_BUNDLE_INVALID' });
  });

  it('writes files readable by anyone (they are public) and refuses to write a bundle with an invalid file', async () => {
    expect((await stat(join(exported, 'ca.pem'))).mode & 0o777).toBe(0o644);
    await expect(writeTrustBundle(join(root, 'refused'), { ...contents, files: { ...contents.files, 'log-key': 'nonsense' } })).rejects.toMatchObject({ code: 'TRUST_BUNDLE_INVALID' });
    await expect(stat(join(root, 'refused'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
