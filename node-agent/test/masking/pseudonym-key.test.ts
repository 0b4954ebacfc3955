import { chmod, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { loadOrCreatePseudonymKey, MaskingError, pseudonymize, studyKey } from '../../src/masking/index.js';

const dirs: string[] = [];
async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'medfed-key-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (error) {
    return error instanceof MaskingError ? error.code : `unexpected: ${String(error)}`;
  }
  return undefined;
}

describe('pseudonymisation key', () => {
  it('is created on first use at <stateDir>/pseudonym.key with mode 0600, then reused', async () => {
    const dir = join(await stateDir(), 'nested', '.medfed-agent');
    const first = await loadOrCreatePseudonymKey(dir);
    expect(first).toHaveLength(32);
    const path = join(dir, 'pseudonym.key');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readFile(path, 'utf8')).trim()).toBe(Buffer.from(first).toString('hex'));
    expect(Buffer.from(await loadOrCreatePseudonymKey(dir)).equals(Buffer.from(first))).toBe(true);
  });

  it('concurrent first uses agree on one key', async () => {
    const dir = await stateDir();
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreatePseudonymKey(dir)));
    for (const k of keys) expect(Buffer.from(k).equals(Buffer.from(keys[0] as Uint8Array))).toBe(true);
  });

  it.each([0o644, 0o640, 0o604, 0o660])('refuses a key file with mode %s', async (mode) => {
    const dir = await stateDir();
    await loadOrCreatePseudonymKey(dir);
    await chmod(join(dir, 'pseudonym.key'), mode);
    expect(await codeOf(loadOrCreatePseudonymKey(dir))).toBe('MASK_KEY_PERMISSIONS');
  });

  it('refuses a symbolic link in place of the key and a malformed key', async () => {
    const dir = await stateDir();
    const elsewhere = join(dir, 'elsewhere.key');
    await writeFile(elsewhere, `${'ab'.repeat(32)}\n`, { mode: 0o600 });
    await symlink(elsewhere, join(dir, 'pseudonym.key'));
    expect(await codeOf(loadOrCreatePseudonymKey(dir))).toBe('MASK_KEY_PERMISSIONS');
    const other = await stateDir();
    await writeFile(join(other, 'pseudonym.key'), 'too short\n', { mode: 0o600 });
    expect(await codeOf(loadOrCreatePseudonymKey(other))).toBe('MASK_KEY_INVALID');
  });
});

describe('pseudonyms (property)', () => {
  const siteKey = fc.uint8Array({ minLength: 32, maxLength: 32 });
  const study = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s.trim() !== '');

  it('are stable within a study and differ across studies', () => {
    fc.assert(
      fc.property(siteKey, study, study, fc.string({ minLength: 1 }), (key, s1, s2, value) => {
        fc.pre(s1 !== s2);
        const a = pseudonymize(studyKey(key, s1), 'mrn', value);
        expect(pseudonymize(studyKey(key, s1), 'mrn', value)).toBe(a);
        expect(pseudonymize(studyKey(key, s2), 'mrn', value)).not.toBe(a);
        expect(a).toMatch(/^ps_[0-9a-f]{32}$/);
        expect(a).not.toContain(value.length > 3 ? value : '\u0000');
      }),
      { numRuns: 200 },
    );
  });

  it('differ across sites (keys) and across identifier domains', () => {
    fc.assert(
      fc.property(siteKey, siteKey, fc.string({ minLength: 1 }), (k1, k2, value) => {
        fc.pre(Buffer.from(k1).compare(Buffer.from(k2)) !== 0);
        expect(pseudonymize(studyKey(k1, 's'), 'mrn', value)).not.toBe(pseudonymize(studyKey(k2, 's'), 'mrn', value));
        expect(pseudonymize(studyKey(k1, 's'), 'mrn', value)).not.toBe(pseudonymize(studyKey(k1, 's'), 'account-number', value));
      }),
      { numRuns: 100 },
    );
  });
});
