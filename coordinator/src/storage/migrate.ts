import { fileURLToPath } from 'node:url';
import Postgrator from 'postgrator';
import type { Db } from './db.js';

/** Versioned SQL migrations in `coordinator/migrations/NNN.do.<name>.sql`, applied in order, once. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

export async function migrate(db: Db): Promise<{ version: number }> {
  const postgrator = new Postgrator({
    migrationPattern: `${MIGRATIONS_DIR}/*`,
    driver: 'pg',
    schemaTable: 'schema_migrations',
    execQuery: async (query) => {
      const r = await db.query(query);
      return { rows: r.rows };
    },
  });
  await postgrator.migrate();
  return { version: Number(await postgrator.getDatabaseVersion()) };
}
