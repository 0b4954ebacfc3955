/**
 * Payload storage throughput: PgBlobStore on PostgreSQL beside FileBlobStore on local disk.
 *
 *   npx tsc --build && node bench/blob-store.ts [--mib 64] [--reps 5] [--chunk-mib 4] [--dir DIR] [--json]
 *
 * Each repetition writes a fresh, incompressible payload (put, then putStream fed 1 MiB pieces as
 * an upload would), reads it back (get, then getStream) and deletes it; figures are wall-clock
 * medians in MB/s (10^6 bytes). Both stores make a write durable before it returns (fsync; a
 * PostgreSQL commit). Reads come from warm caches (page cache, shared buffers), as a round's reads
 * of just-uploaded updates do. PostgreSQL: a fresh database on MEDFED_BENCH_PG (default
 * postgres://postgres@127.0.0.1:5432/test), dropped at the end; files: a temporary directory under
 * --dir (default the OS temporary directory).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FileBlobStore, PgBlobStore, type BlobStore } from '@medfed/coordinator/blobs/index';
import { migrate, openPostgres } from '@medfed/coordinator/storage/index';
import { BENCH_PG_URL, freshBenchDatabase } from './lib/bench-database.ts';
import { printTable } from './lib/coordinator-process.ts';

const MiB = 1 << 20;
const UPLOAD_PIECE = MiB;

export interface BlobBenchOptions {
  readonly payloadMiB: number;
  readonly repetitions: number;
  /** PgBlobStore's chunk size in bytes. */
  readonly chunkSize: number;
  /** The PostgreSQL server on which a throwaway database is created. */
  readonly pgUrl: string;
  /** Where FileBlobStore's temporary directory goes. */
  readonly dir: string;
}

export const DEFAULT_BLOB_BENCH_OPTIONS: BlobBenchOptions = { payloadMiB: 64, repetitions: 5, chunkSize: 4 * MiB, pgUrl: BENCH_PG_URL, dir: tmpdir() };

export interface Throughput {
  /** Median over the repetitions, MB/s (10^6 bytes per second of wall-clock time). */
  readonly medianMBps: number;
  readonly samplesMBps: readonly number[];
}

export interface StoreFigures {
  readonly put: Throughput;
  readonly get: Throughput;
  readonly putStream: Throughput;
  readonly getStream: Throughput;
}

export interface BlobBenchReport {
  readonly payloadBytes: number;
  readonly repetitions: number;
  readonly chunkSize: number;
  readonly postgresVersion: string;
  readonly file: StoreFigures;
  readonly postgres: StoreFigures;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const throughput = (samples: number[]): Throughput => ({ medianMBps: median(samples), samplesMBps: samples });

async function timedMBps(bytes: number, fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return bytes / 1e6 / ((performance.now() - t0) / 1000);
}

async function* upload(payload: Buffer): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < payload.length; offset += UPLOAD_PIECE) yield payload.subarray(offset, offset + UPLOAD_PIECE);
}

async function drain(stream: AsyncIterable<Buffer>): Promise<number> {
  let n = 0;
  for await (const piece of stream) n += piece.length;
  return n;
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`blob bench: ${what}`);
}

async function measureStore(store: Required<BlobStore>, payload: Buffer, repetitions: number): Promise<StoreFigures> {
  // Warm-up (JIT, connections, directories), not timed.
  await store.put('bench/warm-up.bin', payload.subarray(0, MiB));
  await store.get('bench/warm-up.bin');
  await store.delete('bench/warm-up.bin');
  const put: number[] = [];
  const get: number[] = [];
  const putStream: number[] = [];
  const getStream: number[] = [];
  for (let rep = 0; rep < repetitions; rep++) {
    // A different payload each time, so no store can skip an identical re-put.
    payload.writeUInt32BE(rep, 0);
    put.push(await timedMBps(payload.length, () => store.put(`bench/put-${rep}.bin`, payload)));
    let read: Buffer | undefined;
    get.push(await timedMBps(payload.length, async () => { read = await store.get(`bench/put-${rep}.bin`); }));
    check(read!.equals(payload), 'get returned other bytes');
    read = undefined;
    putStream.push(await timedMBps(payload.length, () => store.putStream(`bench/stream-${rep}.bin`, upload(payload))));
    let streamed = 0;
    getStream.push(await timedMBps(payload.length, async () => { streamed = await drain(store.getStream(`bench/stream-${rep}.bin`)); }));
    check(streamed === payload.length, 'getStream returned another length');
    await store.delete(`bench/put-${rep}.bin`);
    await store.delete(`bench/stream-${rep}.bin`);
  }
  return { put: throughput(put), get: throughput(get), putStream: throughput(putStream), getStream: throughput(getStream) };
}

/** Runs both stores with the same payloads; returns the figures (another benchmark may embed them). */
export async function benchBlobStores(options: Partial<BlobBenchOptions> = {}): Promise<BlobBenchReport> {
  const o = { ...DEFAULT_BLOB_BENCH_OPTIONS, ...options };
  const payload = randomBytes(o.payloadMiB * MiB);
  const dir = await mkdtemp(join(o.dir, 'medfed-bench-blobs-'));
  let file: StoreFigures;
  try {
    file = await measureStore(new FileBlobStore(dir) as Required<BlobStore>, payload, o.repetitions);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const benchDb = await freshBenchDatabase(o.pgUrl);
  const db = openPostgres(benchDb.url, { max: 4 });
  try {
    await migrate(db);
    const { rows } = await db.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    const postgres = await measureStore(new PgBlobStore(db, { chunkSize: o.chunkSize }) as Required<BlobStore>, payload, o.repetitions);
    return { payloadBytes: payload.length, repetitions: o.repetitions, chunkSize: o.chunkSize, postgresVersion: rows[0]!.v, file, postgres };
  } finally {
    await db.close();
    await benchDb.drop();
  }
}

function parseArgs(args: readonly string[]): { options: Partial<BlobBenchOptions>; json: boolean } {
  const value = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    return i === -1 ? undefined : args[i + 1];
  };
  const positive = (name: string): number | undefined => {
    const v = value(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!(n > 0) || !Number.isFinite(n)) throw new Error(`--${name} needs a positive number`);
    return n;
  };
  const options: { -readonly [K in keyof BlobBenchOptions]?: BlobBenchOptions[K] } = {};
  const mib = positive('mib');
  if (mib !== undefined) options.payloadMiB = mib;
  const reps = positive('reps');
  if (reps !== undefined) options.repetitions = Math.round(reps);
  const chunk = positive('chunk-mib');
  if (chunk !== undefined) options.chunkSize = Math.round(chunk * MiB);
  const dir = value('dir');
  if (dir !== undefined) options.dir = dir;
  return { options, json: args.includes('--json') };
}

if (import.meta.main) {
  const { options, json } = parseArgs(process.argv.slice(2));
  const r = await benchBlobStores(options);
  if (json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
  } else {
    const f = (t: Throughput) => t.medianMBps.toFixed(0);
    const vs = (pg: Throughput, file: Throughput) => `FileBlobStore ${f(file)} MB/s (${(pg.medianMBps / file.medianMBps).toFixed(2)}x)`;
    printTable(`payload storage: ${r.payloadBytes / MiB} MiB payloads, ${r.repetitions} repetitions, medians (wall clock); PgBlobStore on PostgreSQL ${r.postgresVersion}, ${r.chunkSize / MiB} MiB chunks`, [
      ['PgBlobStore put (MB/s)', f(r.postgres.put), vs(r.postgres.put, r.file.put)],
      ['PgBlobStore get (MB/s, digest checked)', f(r.postgres.get), vs(r.postgres.get, r.file.get)],
      ['PgBlobStore putStream, 1 MiB pieces (MB/s)', f(r.postgres.putStream), vs(r.postgres.putStream, r.file.putStream)],
      ['PgBlobStore getStream (MB/s, digest checked)', f(r.postgres.getStream), vs(r.postgres.getStream, r.file.getStream)],
    ]);
  }
}
