import { randomBytes, randomInt } from 'node:crypto';
import { link, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { PrivacyError } from '../errors.js';

export interface FileLockOptions {
  /** How long to wait for the lock before refusing (ms). */
  readonly timeoutMs?: number;
  /** A lock older than this is taken to be left by a crashed holder (ms). */
  readonly staleMs?: number;
}

interface LockRecord {
  readonly token: string;
  readonly pid: number;
  readonly host: string;
  readonly at: number;
}

/**
 * Runs `fn` while holding an exclusive lock file, across processes on this host. The lock file is
 * created whole and atomically (write a private file, then link(2) it to the lock name, which fails
 * if the name exists: the O_EXCL guarantee without a window where the file is empty).
 * A lock is stale when its holder's pid is gone on this host or it is older than `staleMs`; it is
 * then moved aside (rename is atomic, so only one waiter can take it) and checked to be the very
 * lock judged stale (same inode and holder token) before it is deleted.
 */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const token = await acquire(lockPath, options.timeoutMs ?? 10_000, options.staleMs ?? 30_000);
  try {
    return await fn();
  } finally {
    await release(lockPath, token);
  }
}

async function acquire(lockPath: string, timeoutMs: number, staleMs: number): Promise<string> {
  const record: LockRecord = { token: randomBytes(16).toString('hex'), pid: process.pid, host: hostname(), at: Date.now() };
  const draft = `${lockPath}.${record.token}.draft`;
  await writeFile(draft, JSON.stringify(record), { mode: 0o600, flag: 'wx' });
  const deadline = Date.now() + timeoutMs;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(draft, lockPath);
        return record.token;
      } catch (error) {
        if (!isCode(error, 'EEXIST')) throw error;
      }
      const holder = await inspectLock(lockPath);
      if (holder === undefined) continue; // released meanwhile
      if (isStale(holder, staleMs)) {
        await breakStaleLock(lockPath, holder);
        continue;
      }
      if (Date.now() > deadline) {
        throw new PrivacyError(
          'PRIVACY_LEDGER_LOCKED',
          `could not lock ${lockPath} within ${timeoutMs} ms (held by pid ${holder.record?.pid ?? 'unknown'}); retry, or remove the lock file if that process is gone`,
          { lockPath },
        );
      }
      // Randomised backoff so waiters do not retry in lock-step.
      await sleep(2 + randomInt(Math.min(50, 5 + attempt * 2)));
    }
  } finally {
    await unlink(draft).catch(() => undefined);
  }
}

async function release(lockPath: string, token: string): Promise<void> {
  const holder = await readLock(lockPath);
  if (holder?.token === token) await unlink(lockPath).catch(() => undefined);
}

async function breakStaleLock(lockPath: string, stale: LockState): Promise<void> {
  const aside = `${lockPath}.${randomBytes(8).toString('hex')}.stale`;
  try {
    await rename(lockPath, aside);
  } catch (error) {
    if (isCode(error, 'ENOENT')) return; // someone else broke it first
    throw error;
  }
  const moved = await inspectLock(aside);
  if (moved !== undefined && !sameLock(moved, stale)) {
    // A live holder replaced the stale lock between our check and the rename: put it back.
    await link(aside, lockPath).catch(() => undefined);
  }
  await unlink(aside).catch(() => undefined);
}

interface LockState {
  readonly ino: number;
  readonly mtimeMs: number;
  /** Undefined when the lock file holds no valid record (written by something else, or damaged). */
  readonly record: LockRecord | undefined;
}

async function inspectLock(lockPath: string): Promise<LockState | undefined> {
  try {
    const info = await stat(lockPath);
    return { ino: info.ino, mtimeMs: info.mtimeMs, record: await readLock(lockPath) };
  } catch (error) {
    if (isCode(error, 'ENOENT')) return undefined;
    throw error;
  }
}

/** Inode numbers are reused, so identity also needs the holder's token (or, without a record, the mtime). */
function sameLock(a: LockState, b: LockState): boolean {
  if (a.ino !== b.ino) return false;
  if (a.record !== undefined || b.record !== undefined) return a.record?.token === b.record?.token;
  return a.mtimeMs === b.mtimeMs;
}

function isStale(holder: LockState, staleMs: number): boolean {
  const { record } = holder;
  if (record === undefined) return Date.now() - holder.mtimeMs > staleMs;
  if (Date.now() - record.at > staleMs) return true;
  return record.host === hostname() && !processAlive(record.pid);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !isCode(error, 'ESRCH');
  }
}

async function readLock(path: string): Promise<LockRecord | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { token, pid, host, at } = parsed as Partial<LockRecord>;
    if (typeof token !== 'string' || typeof pid !== 'number' || typeof host !== 'string' || typeof at !== 'number') return undefined;
    return { token, pid, host, at };
  } catch {
    return undefined;
  }
}

function isCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
