import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AuthError } from '@medfed/proto/auth/index';
import type { Logger } from 'pino';
import type { AuthContext } from './context.js';
import { apiKeyRow, formatApiKey, insertApiKey, newApiKeyMaterial, parseApiKey } from './store/api-keys.js';
import { sameDigest, sha256Hex } from './store/secrets.js';

export const BOOTSTRAP_KEY_FILE = 'admin-api-key';
const BOOTSTRAP_NAME = 'bootstrap-admin';

async function writeKeyFile(file: string, key: string, flag: 'wx' | 'w'): Promise<void> {
  await writeFile(file, `${key}\n`, { mode: 0o600, flag });
}

async function newBootstrapKey(ctx: AuthContext, file: string, flag: 'wx' | 'w'): Promise<string> {
  const material = newApiKeyMaterial();
  const expiresAt = new Date(ctx.now().getTime() + ctx.settings.apiKeyDays * 86_400_000);
  await insertApiKey(ctx.db, { ...material, name: BOOTSTRAP_NAME, role: 'admin', site: null, createdBy: 'bootstrap', expiresAt });
  const key = formatApiKey(material.id, material.secret);
  await writeKeyFile(file, key, flag);
  return key;
}

/**
 * The bootstrap admin credential: an admin API key written at first start to `<dataDir>/admin-api-key`
 * (mode 0600). Later starts reuse it; a key missing from a fresh database is registered again from the
 * file (the file is the root of trust), an expired one is replaced. A revoked one stays revoked: null.
 */
export async function ensureBootstrapAdminKey(ctx: AuthContext, dataDir: string, log: Logger): Promise<{ key: string | null; file: string }> {
  const file = join(dataDir, BOOTSTRAP_KEY_FILE);
  let text: string | null = null;
  try {
    const s = await stat(file);
    if ((s.mode & 0o077) !== 0) {
      throw new AuthError('AUTH_IDENTITY_INVALID', `${file} is readable by group or others (mode ${(s.mode & 0o777).toString(8)}); run chmod 600 on it`);
    }
    text = (await readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text === null) return { key: await newBootstrapKey(ctx, file, 'wx'), file };
  const parsed = parseApiKey(text);
  if (!parsed) {
    log.warn({ file }, 'the bootstrap admin key file does not hold an API key; writing a new one');
    return { key: await newBootstrapKey(ctx, file, 'w'), file };
  }
  const row = await apiKeyRow(ctx.db, parsed.id);
  if (!row) {
    await insertApiKey(ctx.db, {
      ...parsed, name: BOOTSTRAP_NAME, role: 'admin', site: null, createdBy: 'bootstrap',
      expiresAt: new Date(ctx.now().getTime() + ctx.settings.apiKeyDays * 86_400_000),
    });
    return { key: text, file };
  }
  if (!sameDigest(sha256Hex(parsed.secret), row.secret_hash)) {
    throw new AuthError('AUTH_IDENTITY_INVALID', `${file} does not match the bootstrap key recorded in the database; remove the file to issue a new one`);
  }
  if (row.revoked_at) {
    log.warn({ file, id: row.id }, 'the bootstrap admin key was revoked; starting without it');
    return { key: null, file };
  }
  if (row.expires_at.getTime() <= ctx.now().getTime()) {
    log.warn({ file, id: row.id }, 'the bootstrap admin key expired; writing a new one');
    return { key: await newBootstrapKey(ctx, file, 'w'), file };
  }
  return { key: text, file };
}
