import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Queryable } from '../storage/db.js';

/** What replicas must share from the data directory: every key and the bootstrap admin key. */
const SHARED = ['keys', 'admin-api-key'] as const;

async function localFiles(dataDir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (path: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(path, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') {
        out.set(relative(dataDir, path).split(sep).join('/'), await readFile(path, 'utf8'));
        return;
      }
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const e of entries) {
      const p = join(path, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && !e.name.endsWith('.tmp')) out.set(relative(dataDir, p).split(sep).join('/'), await readFile(p, 'utf8'));
    }
  };
  for (const s of SHARED) await walk(join(dataDir, s));
  return out;
}

/**
 * The coordinator's key files, shared through the database so that every replica signs, verifies
 * and bootstraps with the one set created by whichever replica led first (never a second set).
 * Only the leader writes them (`push` goes through the fenced database); a replica about to lead
 * `pull`s them first. The database then holds private keys: protect it (and its backups) as the
 * key directory itself (docs/operations.md, "Replicas").
 */
export const keyFiles = {
  /** Database -> data directory, before keys are loaded. Returns how many files changed (an empty table changes nothing). */
  async pull(db: Queryable, dataDir: string): Promise<number> {
    const { rows } = await db.query<{ path: string; content: string }>('SELECT path, content FROM coordinator_key_files ORDER BY path');
    if (rows.length === 0) return 0;
    const local = await localFiles(dataDir);
    let changed = 0;
    for (const { path, content } of rows) {
      if (local.get(path) === content) continue;
      const target = join(dataDir, ...path.split('/'));
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      const tmp = `${target}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(tmp, content, { mode: 0o600, flag: 'wx' });
      await rename(tmp, target);
      changed++;
    }
    // A local key the shared set does not hold belongs to no deployment: it must not sign anything.
    const shared = new Set(rows.map((r) => r.path));
    for (const path of local.keys()) {
      if (!shared.has(path)) {
        await rm(join(dataDir, ...path.split('/')), { force: true });
        changed++;
      }
    }
    return changed;
  },

  /** Data directory -> database (the leader, after creating or rotating keys). Returns how many rows changed. */
  async push(db: Queryable, dataDir: string): Promise<number> {
    const local = await localFiles(dataDir);
    let changed = 0;
    for (const [path, content] of local) {
      const { rowCount } = await db.query(
        `INSERT INTO coordinator_key_files (path, content) VALUES ($1, $2)
         ON CONFLICT (path) DO UPDATE SET content = EXCLUDED.content WHERE coordinator_key_files.content <> EXCLUDED.content`, [path, content]);
      changed += rowCount;
    }
    const { rowCount } = await db.query('DELETE FROM coordinator_key_files WHERE NOT (path = ANY($1::text[]))', [[...local.keys()]]);
    return changed + rowCount;
  },
};
