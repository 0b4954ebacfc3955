import { PGlite } from '@electric-sql/pglite';
import type { Db, QueryResult } from './db.js';

/** Embedded PostgreSQL (WASM) for `DATABASE_URL`-less starts: a directory, or memory when none is given. */
export async function openPglite(dataDir?: string): Promise<Db> {
  const db = dataDir ? await PGlite.create(dataDir) : await PGlite.create();
  const normalise = <R>(r: { rows: unknown[]; affectedRows?: number }): QueryResult<R> => ({
    rows: r.rows as R[],
    rowCount: r.affectedRows ?? r.rows.length,
  });
  const self: Db = {
    kind: 'pglite',
    async query(text, params) {
      // Parameterless statements may hold several commands (migrations); `exec` runs those.
      if (!params || params.length === 0) {
        const results = await db.exec(text);
        const last = results[results.length - 1];
        return normalise(last ?? { rows: [] });
      }
      return normalise(await db.query(text, params as unknown[]));
    },
    async transaction(fn) {
      return db.transaction(async (tx) =>
        fn({
          async query(text, params) {
            if (!params || params.length === 0) {
              const results = await tx.exec(text);
              const last = results[results.length - 1];
              return normalise(last ?? { rows: [] });
            }
            return normalise(await tx.query(text, params as unknown[]));
          },
        }),
      );
    },
    // One embedded connection: a session is the database itself.
    session(fn) {
      return fn({ query: (text, params) => self.query(text, params) });
    },
    close: () => db.close(),
  };
  return self;
}
