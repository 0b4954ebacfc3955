// A throwaway PostgreSQL database for one benchmark run, created on the server MEDFED_BENCH_PG
// names (default: the local test server) and dropped afterwards.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const BENCH_PG_URL = process.env.MEDFED_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface BenchDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

async function run(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function freshBenchDatabase(adminUrl: string = BENCH_PG_URL): Promise<BenchDatabase> {
  const name = `medfed_bench_${randomBytes(5).toString('hex')}`;
  await run(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** PostgreSQL only when MEDFED_BENCH_PG is set; otherwise the coordinator's embedded PGlite. */
export async function optionalBenchDatabase(): Promise<{ url?: string; drop: () => Promise<void> }> {
  return process.env.MEDFED_BENCH_PG ? freshBenchDatabase(process.env.MEDFED_BENCH_PG) : { drop: async () => {} };
}
