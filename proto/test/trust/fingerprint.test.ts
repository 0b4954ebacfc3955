import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  TRUST_MANIFEST_FILE, base32, canonicalTrustManifest, parseFingerprint, readTrustBundle, trustFingerprint, writeTrustBundle, type TrustBundleManifest,
} from '../../src/trust/index.js';
import { bundleContents } from './fixtures.js';

const FINGERPRINT = /^[A-Z2-7]{4}(-[A-Z2-7]{4}){7}$/;

const manifest: TrustBundleManifest = {
  format: 'medfed-trust-bundle/v1',
  version: 3,
  createdAt: '2026-01-02T03:04:05.678Z',
  coordinator: { rest: 'https://c.example', grpc: 'c.example:9443', consortium: null, logOrigin: 'c.example/log' },
  files: [{ role: 'log-key', name: 'checkpoint.vkey', sha256: 'a'.repeat(64) }],
};

describe('base32 (RFC 4648 section 10 test vectors)', () => {
  it.each([['', ''], ['f', 'MY'], ['fo', 'MZXQ'], ['foo', 'MZXW6'], ['foob', 'MZXW6YQ'], ['fooba', 'MZXW6YTB'], ['foobar', 'MZXW6YTBOI']])('encodes %j as %s (no padding)', (input, expected) => {
    expect(base32(Buffer.from(input))).toBe(expected);
  });
});

describe('canonical form and fingerprint of trust.json', () => {
  it('is RFC 8785 JSON: members sorted by name at every level, no whitespace', () => {
    expect(Buffer.from(canonicalTrustManifest(manifest)).toString('utf8')).toBe(
      '{"coordinator":{"consortium":null,"grpc":"c.example:9443","logOrigin":"c.example/log","rest":"https://c.example"},'
      + '"createdAt":"2026-01-02T03:04:05.678Z","files":[{"name":"checkpoint.vkey","role":"log-key","sha256":"'
      + `${'a'.repeat(64)}"}],"format":"medfed-trust-bundle/v1","version":3}`);
  });

  it('is the first 160 bits of SHA-256 over the canonical form, in base32, as 8 groups of 4 joined by -', () => {
    const digest = createHash('sha256').update(canonicalTrustManifest(manifest)).digest();
    const expected = base32(digest.subarray(0, 20)).match(/.{4}/g)!.join('-');
    expect(trustFingerprint(manifest)).toBe(expected);
    expect(trustFingerprint(manifest)).toMatch(FINGERPRINT);
  });

  it('does not depend on member order', () => {
    const reordered = JSON.parse(JSON.stringify({ files: manifest.files, version: 3, coordinator: manifest.coordinator, createdAt: manifest.createdAt, format: manifest.format })) as TrustBundleManifest;
    expect(trustFingerprint(reordered)).toBe(trustFingerprint(manifest));
  });

  it('reads a fingerprint as people type it and refuses what is not one', () => {
    const fp = trustFingerprint(manifest);
    expect(parseFingerprint(fp.toLowerCase().replaceAll('-', ' '))).toBe(fp);
    expect(parseFingerprint(fp.replaceAll('-', ''))).toBe(fp);
    for (const bad of [fp.slice(0, -1), `${fp}A`, fp.replace(/[A-Z2-7]/, '0'), '']) {
      expect(() => parseFingerprint(bad)).toThrow(expect.objectContaining({ code: 'TRUST_BUNDLE_FINGERPRINT_INVALID' }));
    }
  });
});

describe('the fingerprint of a bundle on disk', () => {
  let root: string;
  let exported: string;
  let fingerprint: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'medfed-trust-fp-'));
    exported = join(root, 'bundle');
    ({ fingerprint } = await writeTrustBundle(exported, await bundleContents()));
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  async function copyWith(name: string, change: (bytes: Buffer) => Buffer): Promise<string> {
    const dir = await mkdtemp(join(root, 'changed-'));
    for (const file of await readdir(exported)) {
      const bytes = await readFile(join(exported, file));
      await writeFile(join(dir, file), file === name ? change(Buffer.from(bytes)) : bytes);
    }
    return dir;
  }

  /** The fingerprint computed from a changed copy, read from the refusal that names it. */
  async function fingerprintOf(dir: string): Promise<string> {
    const err = await readTrustBundle(dir, { expectedFingerprint: fingerprint }).then(() => null, (e: unknown) => e as { code: string; details?: { actual?: string } });
    if (err === null) return fingerprint;
    expect(err.code).toBe('TRUST_BUNDLE_FINGERPRINT_MISMATCH');
    return err.details!.actual!;
  }

  it('is what the writer printed, and reading checks out', async () => {
    expect(fingerprint).toMatch(FINGERPRINT);
    expect((await readTrustBundle(exported, { expectedFingerprint: fingerprint })).fingerprint).toBe(fingerprint);
  });

  it('changes with any byte changed in any listed file', async () => {
    const seen = new Set([fingerprint]);
    for (const name of ['ca.pem', 'manifest-jwks.json', 'token-jwks.json', 'checkpoint.vkey']) {
      const size = (await readFile(join(exported, name))).length;
      for (const at of [0, Math.floor(size / 2), size - 1]) {
        const fp = await fingerprintOf(await copyWith(name, (b) => { b[at] ^= 0x01; return b; }));
        expect(fp).toMatch(FINGERPRINT);
        expect(seen.has(fp)).toBe(false);
        seen.add(fp);
      }
    }
  });

  it('changes with any change to what trust.json says, but not with its layout', async () => {
    const edits: Array<(m: Record<string, any>) => void> = [
      (m) => { m.version = 2; },
      (m) => { m.createdAt = '2026-01-02T03:04:05.679Z'; },
      (m) => { m.coordinator.rest = 'https://coordinator.example:8444'; },
      (m) => { m.coordinator.grpc = 'coordinator.example:9444'; },
      (m) => { m.coordinator.consortium = 'North Sea Hospital'; },
    ];
    const seen = new Set([fingerprint]);
    for (const edit of edits) {
      const fp = await fingerprintOf(await copyWith(TRUST_MANIFEST_FILE, (b) => {
        const m = JSON.parse(b.toString('utf8')) as Record<string, any>;
        edit(m);
        return Buffer.from(JSON.stringify(m, null, 2));
      }));
      expect(seen.has(fp)).toBe(false);
      seen.add(fp);
    }
    const relaidOut = await copyWith(TRUST_MANIFEST_FILE, (b) => Buffer.from(JSON.stringify(JSON.parse(b.toString('utf8')))));
    expect((await readTrustBundle(relaidOut, { expectedFingerprint: fingerprint })).fingerprint).toBe(fingerprint);
  });
});
