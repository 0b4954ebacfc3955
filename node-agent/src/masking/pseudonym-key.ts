import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MaskingError } from './errors.js';

export const PSEUDONYM_KEY_FILE = 'pseudonym.key';

/**
 * The site's pseudonymisation key, `<stateDir>/pseudonym.key`: 32 random bytes as hex, created on
 * first use with mode 0600. An existing key file that others can read or write, that the agent's
 * user does not own, or that is not a regular file (a symbolic link, say) is refused: pseudonyms are
 * only as secret as this key.
 */
export async function loadOrCreatePseudonymKey(stateDir: string): Promise<Uint8Array> {
  const path = join(stateDir, PSEUDONYM_KEY_FILE);
  const existing = await readKey(path);
  if (existing !== undefined) return existing;
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  // Written whole under a private name, then linked into place: link fails if another process
  // created the key meanwhile, and nobody ever reads a half-written key.
  const draft = `${path}.${randomBytes(6).toString('hex')}.draft`;
  await writeFile(draft, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(draft, path);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
  } finally {
    await unlink(draft).catch(() => undefined);
  }
  const key = await readKey(path);
  if (key === undefined) throw new MaskingError('MASK_KEY_INVALID', `the pseudonymisation key ${path} vanished while it was created; retry`);
  return key;
}

async function readKey(path: string): Promise<Uint8Array | undefined> {
  let handle;
  try {
    // O_NOFOLLOW: a symbolic link planted at the key's path is never followed.
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new MaskingError('MASK_KEY_PERMISSIONS', `the pseudonymisation key ${path} is a symbolic link; replace it with a regular file (mode 0600)`);
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new MaskingError('MASK_KEY_PERMISSIONS', `the pseudonymisation key ${path} is not a regular file`);
    if ((info.mode & 0o077) !== 0) {
      throw new MaskingError(
        'MASK_KEY_PERMISSIONS',
        `the pseudonymisation key ${path} has mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}; it must be 0600 (run: chmod 600 ${path})`,
      );
    }
    const uid = process.getuid?.();
    if (uid !== undefined && info.uid !== uid) {
      throw new MaskingError('MASK_KEY_PERMISSIONS', `the pseudonymisation key ${path} is owned by uid ${info.uid}, not by the agent (uid ${uid})`);
    }
    const text = (await handle.readFile('utf8')).trim();
    if (!/^[0-9a-f]{64}$/i.test(text)) throw new MaskingError('MASK_KEY_INVALID', `the pseudonymisation key ${path} is not 64 hex digits (32 bytes)`);
    return new Uint8Array(Buffer.from(text, 'hex'));
  } finally {
    await handle.close();
  }
}
