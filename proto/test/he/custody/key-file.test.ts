import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { chmod, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeys, heContext, readKeyFile, writeKeyFile, type HeKeyFileRecord } from '../../../src/he/index.js';
import { codeOfAsync } from '../helpers.js';

const PARAM_SET = 'bfv-n2048-q54-t32-1x31';
let dir: string;
let record: HeKeyFileRecord;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'medfed-he-key-'));
  const context = await heContext(PARAM_SET);
  const key = generateKeys(context);
  record = { job: 'job-1', epoch: 2, siteId: 'site-a', paramSetId: PARAM_SET, keyId: key.keyId, secretKey: key.export() };
  key.dispose();
});

afterAll(async () => {
  record.secretKey.fill(0);
  await rm(dir, { recursive: true, force: true });
});

describe('HE key file', () => {
  it('is written with mode 0600 and reads back the same key and bindings', async () => {
    const path = join(dir, 'key-ok');
    await writeKeyFile(path, record);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const read = await readKeyFile(path);
    expect({ ...read, secretKey: undefined }).toEqual({ ...record, secretKey: undefined });
    expect(Buffer.from(read.secretKey).equals(Buffer.from(record.secretKey))).toBe(true);
  });

  it.each([0o640, 0o604, 0o660, 0o644, 0o700 | 0o004])('refuses a key file with mode %o', async (mode) => {
    const path = join(dir, `key-${mode.toString(8)}`);
    await writeKeyFile(path, record);
    await chmod(path, mode);
    expect(await codeOfAsync(() => readKeyFile(path))).toBe('HE_KEY_FILE_PERMISSIONS');
  });

  it('refuses a symbolic link to a key file', async () => {
    const path = join(dir, 'key-target');
    await writeKeyFile(path, record);
    await symlink(path, join(dir, 'key-link'));
    expect(await codeOfAsync(() => readKeyFile(join(dir, 'key-link')))).toBe('HE_KEY_FILE_PERMISSIONS');
  });

  it('refuses a key file whose key bytes do not match its key id, or that is not a key file', async () => {
    const path = join(dir, 'key-tampered');
    await writeKeyFile(path, record);
    const bytes = await readFile(path);
    bytes[bytes.length - 1]! ^= 1;
    await writeFile(path, bytes, { mode: 0o600 });
    expect(await codeOfAsync(() => readKeyFile(path))).toBe('HE_KEY_FILE_MALFORMED');
    await writeFile(join(dir, 'not-a-key'), 'hello', { mode: 0o600 });
    expect(await codeOfAsync(() => readKeyFile(join(dir, 'not-a-key')))).toBe('HE_KEY_FILE_MALFORMED');
    expect(await codeOfAsync(() => readKeyFile(join(dir, 'missing')))).toBe('HE_KEY_FILE_MALFORMED');
  });

  it('refuses to write a record whose key does not match its key id', async () => {
    expect(await codeOfAsync(() => writeKeyFile(join(dir, 'key-bad'), { ...record, keyId: '0'.repeat(32) }))).toBe('HE_KEY_FILE_MALFORMED');
  });
});
