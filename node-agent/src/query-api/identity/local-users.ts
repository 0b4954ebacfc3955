import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { lstat, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../privacy/ledger/atomic-write.js';
import { withFileLock } from '../../privacy/ledger/file-lock.js';
import { QUERY_ROLES, type QueryRole } from '../config.js';
import { QueryApiError } from '../errors.js';
import type { Caller } from './caller.js';

export interface LocalUser {
  readonly id: string;
  readonly name: string;
  readonly role: QueryRole;
  /** SHA-256 of the whole key: the key is 256 random bits, so a plain hash is enough and the key itself is never stored. */
  readonly keyHash: string;
  readonly createdAt: string;
}

interface UsersFile {
  readonly version: 1;
  readonly users: LocalUser[];
}

const NAME = /^[A-Za-z0-9._@-]{1,64}$/;
const KEY = /^mfq_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/**
 * Users the site steward issues API keys to (`medfed agent users add`), in
 * `<stateDir>/query-api/users.json` (mode 0600). Keys are shown once and stored only as hashes.
 */
export class LocalUsers {
  readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, 'query-api', 'users.json');
  }

  /** Adds a user and returns its key (printed once by the command; never stored). */
  async add(name: string, role: string, now = new Date()): Promise<{ user: LocalUser; key: string }> {
    if (!NAME.test(name)) throw new QueryApiError('QUERY_USER_INVALID', `user name ${JSON.stringify(name)} must be 1-64 letters, digits, ".", "_", "@" or "-"`);
    if (!(QUERY_ROLES as readonly string[]).includes(role)) throw new QueryApiError('QUERY_USER_INVALID', `role ${JSON.stringify(role)} is not one of ${QUERY_ROLES.join(', ')}`);
    const id = randomBytes(8).toString('hex');
    const key = `mfq_${id}_${randomBytes(32).toString('base64url')}`;
    const user: LocalUser = { id, name, role: role as QueryRole, keyHash: hashKey(key), createdAt: now.toISOString() };
    await this.update((file) => {
      if (file.users.some((u) => u.name === name)) throw new QueryApiError('QUERY_USER_INVALID', `a user named ${name} exists; remove it first`);
      return { version: 1, users: [...file.users, user] };
    });
    return { user, key };
  }

  async remove(name: string): Promise<boolean> {
    let removed = false;
    await this.update((file) => {
      const users = file.users.filter((u) => u.name !== name);
      removed = users.length < file.users.length;
      return removed ? { version: 1, users } : undefined;
    });
    return removed;
  }

  async list(): Promise<readonly LocalUser[]> {
    return (await this.read()).users;
  }

  /** The caller a key belongs to; every failure is the same refusal, so keys cannot be probed. */
  async authenticate(key: string): Promise<Caller> {
    const match = KEY.exec(key);
    const refused = () => new QueryApiError('QUERY_API_KEY_INVALID', 'the API key is not valid at this site');
    if (!match) throw refused();
    const user = (await this.read()).users.find((u) => u.id === match[1]);
    if (user === undefined) throw refused();
    const given = Buffer.from(hashKey(key), 'hex');
    if (!timingSafeEqual(given, Buffer.from(user.keyHash, 'hex'))) throw refused();
    return { userId: user.name, role: user.role, method: 'api-key' };
  }

  private async read(): Promise<UsersFile> {
    let text: string;
    try {
      const info = await lstat(this.path);
      if (!info.isFile() || (info.mode & 0o077) !== 0) {
        throw new QueryApiError('QUERY_USERS_STATE_INVALID', `${this.path} must be a regular file with mode 0600`);
      }
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return { version: 1, users: [] };
      if (error instanceof QueryApiError) throw error;
      throw new QueryApiError('QUERY_USERS_STATE_INVALID', `cannot read ${this.path}`);
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new QueryApiError('QUERY_USERS_STATE_INVALID', `${this.path} is not valid JSON`);
    }
    const file = value as Partial<UsersFile>;
    const valid = typeof value === 'object' && value !== null && file.version === 1 && Array.isArray(file.users)
      && file.users.every((u) => typeof u === 'object' && u !== null && /^[0-9a-f]{16}$/.test(u.id) && NAME.test(u.name)
        && (QUERY_ROLES as readonly string[]).includes(u.role) && /^[0-9a-f]{64}$/.test(u.keyHash));
    if (!valid) throw new QueryApiError('QUERY_USERS_STATE_INVALID', `${this.path} is not a users file (version 1 with valid users)`);
    return file as UsersFile;
  }

  /** Read, change, write under a lock file, so two stewards' commands never lose each other's users. */
  private async update(change: (file: UsersFile) => UsersFile | undefined): Promise<void> {
    await mkdir(join(this.path, '..'), { recursive: true, mode: 0o700 });
    await withFileLock(`${this.path}.lock`, async () => {
      const next = change(await this.read());
      if (next !== undefined) await writeFileAtomic(this.path, `${JSON.stringify(next, null, 2)}\n`, 0o600);
    });
  }
}

function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}
