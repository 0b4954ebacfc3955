import pg from 'pg';
import type { Db, QueryResult } from './db.js';
import { classifyDatabaseError, isDatabaseUnavailable } from './errors.js';

// int8 and numeric come back as strings by default; medfed keeps counts well inside 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface PostgresOptions {
  readonly max?: number;
  /** How long to wait for a connection before answering DATABASE_UNAVAILABLE (pg's default waits forever). */
  readonly connectTimeoutMs?: number;
  /** How long one statement may wait for its answer (a dropped connection otherwise hangs until TCP gives up). */
  readonly queryTimeoutMs?: number;
}

export function openPostgres(connectionString: string, options: PostgresOptions = {}): Db {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    query_timeout: options.queryTimeoutMs ?? 60_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  // An idle client that errors (server restart) must not crash the process; the pool drops it and the next query reconnects.
  pool.on('error', () => {});
  const run = async <R>(q: pg.Pool | pg.PoolClient, text: string, params?: readonly unknown[]) => {
    try {
      const r = await q.query(text, params as unknown[] | undefined);
      return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 } satisfies QueryResult<R>;
    } catch (err) {
      throw classifyDatabaseError(err);
    }
  };
  const guarded = new WeakSet<pg.PoolClient>();
  const connect = async (): Promise<pg.PoolClient> => {
    try {
      const client = await pool.connect();
      // A checked-out client whose socket dies errors asynchronously; without a listener that crashes the process.
      if (!guarded.has(client)) {
        guarded.add(client);
        client.on('error', () => {});
      }
      return client;
    } catch (err) {
      throw classifyDatabaseError(err);
    }
  };
  return {
    kind: 'postgres',
    query: <R,>(text: string, params?: readonly unknown[]) => run<R>(pool, text, params),
    async transaction(fn) {
      const client = await connect();
      let broken: Error | undefined;
      try {
        await run(client, 'BEGIN');
        const result = await fn({ query: <R,>(text: string, params?: readonly unknown[]) => run<R>(client, text, params) });
        await run(client, 'COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch((rollbackErr: unknown) => { broken = rollbackErr as Error; });
        if (isDatabaseUnavailable(err)) broken ??= err as Error;
        throw classifyDatabaseError(err);
      } finally {
        // A connection that failed mid-transaction is destroyed, never handed to the next caller.
        client.release(broken);
      }
    },
    async session(fn) {
      const client = await connect();
      let broken: Error | undefined;
      try {
        return await fn({ query: <R,>(text: string, params?: readonly unknown[]) => run<R>(client, text, params) });
      } catch (err) {
        if (isDatabaseUnavailable(err)) broken = err as Error;
        throw err;
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}
