import { fileURLToPath } from 'node:url';
import Postgrator from 'postgrator';
import type { Db } from './db.js';

/** Versioned SQL migrations in `coordinator/migrations/NNN.do.<name>.sql`, applied in order, once. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

/** Any constant shared by every medfed coordinator: replicas starting together migrate one at a time. */
const MIGRATION_LOCK = 7_305_826_001;

export async function migrate(db: Db): Promise<{ version: number }> {
  return db.session(async (s) => {
    if (db.kind === 'postgres') await s.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      const postgrator = new Postgrator({
        migrationPattern: `${MIGRATIONS_DIR}/*`,
        driver: 'pg',
        schemaTable: 'schema_migrations',
        execQuery: async (query) => {
          const r = await s.query(query);
          return { rows: r.rows };
        },
      });
      await postgrator.migrate();
      return { version: Number(await postgrator.getDatabaseVersion()) };
    } finally {
      if (db.kind === 'postgres') await s.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    }
  });
}
