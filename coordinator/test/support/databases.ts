import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Db } from '../../src/storage/db.js';
import { openPglite } from '../../src/storage/pglite.js';
import { openPostgres } from '../../src/storage/postgres.js';
import { migrate } from '../../src/storage/migrate.js';

/** The real PostgreSQL server the suite runs against (CI starts it); override with MEDFED_TEST_PG. */
export const TEST_PG_URL = process.env.MEDFED_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

export const BACKENDS = ['postgres', 'pglite'] as const;
export type Backend = (typeof BACKENDS)[number];

export interface TestDb {
  readonly db: Db;
  /** For postgres: a URL of the fresh database (e.g. for a child process); undefined for pglite. */
  readonly url: string | undefined;
  drop(): Promise<void>;
}

/** A fresh, empty database per call (a new PostgreSQL database, or a new in-memory PGlite). */
export async function freshDatabase(backend: Backend, options: { migrate?: boolean } = {}): Promise<TestDb> {
  if (backend === 'pglite') {
    const db = await openPglite();
    if (options.migrate !== false) await migrate(db);
    return { db, url: undefined, drop: () => db.close() };
  }
  const name = `medfed_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(TEST_PG_URL);
  url.pathname = `/${name}`;
  const db = openPostgres(url.toString(), { max: 5 });
  if (options.migrate !== false) await migrate(db);
  return {
    db,
    url: url.toString(),
    async drop() {
      await db.close();
      const a = new pg.Client({ connectionString: TEST_PG_URL });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}
