export type { Db, Queryable, QueryResult } from './db.js';
export { openPostgres } from './postgres.js';
export { openPglite } from './pglite.js';
export { migrate, MIGRATIONS_DIR } from './migrate.js';
export { openDatabase } from './open.js';
