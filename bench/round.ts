// A plaintext round at scale: 10 sites, a ~1M-parameter model, over loopback gRPC against a real
// coordinator process. Prints where the time goes (transfer, aggregation, persistence) and the
// coordinator's peak memory, next to baselines measured in the same run (raw loopback TCP for the
// same bytes; an in-memory weighted sum for the same vectors).
//   node bench/round.ts [--sites N] [--json]        (MEDFED_BENCH_PG=postgres://... to use PostgreSQL)
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { encodeVector, parameterCount } from '@medfed/proto';
import { CoordinatorClient } from '@medfed/node-agent/transport/client';

const args = process.argv.slice(2);
const json = args.includes('--json');
const SITES = Number(args[args.indexOf('--sites') + 1]) || 10;
const FEATURES = 1000;
const HIDDEN = 998;
const CLASSES = 2;
const PARAMS = parameterCount(FEATURES, [HIDDEN], CLASSES);
const root = new URL('..', import.meta.url).pathname;

type Timing = { phase: string; ms?: number; aggregateMs?: number; persistMs?: number };

async function startCoordinator(dataDir: string, databaseUrl: string | undefined) {
  const child = spawn(process.execPath, [join(root, 'cli/dist/main.js'), 'coordinator', 'start', '--rest-port', '0', '--grpc-port', '0',
    '--data-dir', dataDir, '--log-level', 'info', ...(databaseUrl ? ['--database-url', databaseUrl] : [])],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  const timings: Timing[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    try {
      const entry = JSON.parse(line) as { timing?: Timing };
      if (entry.timing) timings.push(entry.timing);
    } catch { /* not a log line */ }
  });
  const ready = await new Promise<{ rest: string; grpc: string; adminTokenFile: string }>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line)));
    child.once('exit', (code) => reject(new Error(`coordinator exited with ${code}`)));
  });
  return { child, timings, ...ready, token: (await readFile(ready.adminTokenFile, 'utf8')).trim() };
}

function peakRssMiB(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then((s) => Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? 0) / 1024);
}

async function rest(base: string, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<any>;
}

function randomDelta(seed: number): Float32Array {
  const out = new Float32Array(PARAMS);
  let x = seed * 2654435761 >>> 0;
  for (let i = 0; i < PARAMS; i++) {
    x = (x * 1664525 + 1013904223) >>> 0;
    out[i] = (x / 2 ** 32 - 0.5) / 100;
  }
  return out;
}

/** Baseline: the same bytes over a raw loopback TCP socket, all sites at once. */
async function rawTcpSeconds(payloads: Buffer[]): Promise<number> {
  const total = payloads.reduce((s, p) => s + p.byteLength, 0);
  let received = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => { done = r; });
  const server = createServer((sock) => sock.on('data', (d) => { received += d.byteLength; if (received >= total) done(); }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const started = performance.now();
  for (const p of payloads) { const s = connect(port, '127.0.0.1', () => s.end(p)); }
  await finished;
  const seconds = (performance.now() - started) / 1000;
  server.close();
  return seconds;
}

/** Baseline: the weighted sum itself, in memory, no I/O or decoding. */
function inMemorySumSeconds(deltas: Float32Array[]): number {
  const started = performance.now();
  const sum = new Float64Array(PARAMS);
  for (const [k, d] of deltas.entries()) for (let i = 0; i < PARAMS; i++) sum[i]! += (k + 1) * d[i]!;
  return (performance.now() - started) / 1000;
}

/** With MEDFED_BENCH_PG, a fresh database on that server, dropped afterwards. */
async function benchDatabase(): Promise<{ url?: string; drop: () => Promise<void> }> {
  const admin = process.env.MEDFED_BENCH_PG;
  if (!admin) return { drop: async () => {} };
  const pg = (await import('pg')).default;
  const name = `medfed_bench_${process.pid}`;
  const run = async (sql: string) => { const c = new pg.Client({ connectionString: admin }); await c.connect(); await c.query(sql); await c.end(); };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

const dataDir = await mkdtemp(join(tmpdir(), 'medfed-bench-round-'));
const benchDb = await benchDatabase();
const coord = await startCoordinator(dataDir, benchDb.url);
try {
  const sites = Array.from({ length: SITES }, (_, i) => `bench-${String(i).padStart(2, '0')}`);
  for (const s of sites) await rest(coord.rest, coord.token, 'POST', '/v1/sites', { id: s });
  const deltas = sites.map((_, i) => randomDelta(i + 1));
  const payloads = deltas.map((d) => encodeVector(d));
  const clients = sites.map(() => new CoordinatorClient(coord.grpc));
  for (const [i, s] of sites.entries()) await clients[i]!.enroll(s, 'bench', 'bench');
  const roundStarted = performance.now();
  const { id: jobId } = await rest(coord.rest, coord.token, 'POST', '/v1/jobs', { spec: {
    name: 'bench-round', features: Array.from({ length: FEATURES }, (_, i) => `f${i}`), label: 'y', classes: ['a', 'b'],
    model: { hidden: [HIDDEN] }, rounds: 1, minSites: SITES, roundDeadlineSeconds: 600, sites, standardization: 'none',
  } });
  const tasks = await Promise.all(sites.map((s, i) => clients[i]!.pollTask(s, 5000).then((r) => r.task!)));
  const dlStarted = performance.now();
  await Promise.all(tasks.map((t, i) => clients[i]!.downloadModel(sites[i]!, jobId, t.modelId, t.modelSha256)));
  const downloadSeconds = (performance.now() - dlStarted) / 1000;
  const upStarted = performance.now();
  await Promise.all(tasks.map((t, i) => clients[i]!.submitUpdate(
    { siteId: sites[i]!, jobId, round: 1, submissionId: `bench-${i}`, numSamples: i + 1, baseModelId: t.modelId }, payloads[i]!)));
  const uploadSeconds = (performance.now() - upStarted) / 1000;
  for (;;) {
    const view = await rest(coord.rest, coord.token, 'GET', `/v1/jobs/${jobId}`);
    if (view.rounds.find((r: { round: number; status: string }) => r.round === 1)?.status === 'closed') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const roundSeconds = (performance.now() - roundStarted) / 1000;
  await new Promise((r) => setTimeout(r, 200)); // let the last log lines arrive
  const peak = await peakRssMiB(coord.child.pid!);
  clients.forEach((c) => c.close());
  const closed = coord.timings.find((t) => t.phase === 'round-closed')!;
  const persistUpdates = coord.timings.filter((t) => t.phase === 'persist-update').reduce((s, t) => s + (t.ms ?? 0), 0) / 1000;
  const tcp = await rawTcpSeconds(payloads);
  const sumOnly = inMemorySumSeconds(deltas);
  const result = {
    sites: SITES, params: PARAMS, database: process.env.MEDFED_BENCH_PG ? 'postgresql' : 'pglite',
    update_bytes: payloads[0]!.byteLength,
    round_seconds: roundSeconds,
    download_seconds: downloadSeconds,
    upload_seconds: uploadSeconds,
    upload_baseline_tcp_seconds: tcp,
    aggregation_seconds: closed.aggregateMs! / 1000,
    aggregation_baseline_in_memory_seconds: sumOnly,
    persistence_seconds: persistUpdates + closed.persistMs! / 1000,
    persistence_updates_seconds: persistUpdates,
    persistence_model_seconds: closed.persistMs! / 1000,
    coordinator_peak_rss_mib: peak,
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    const rows: [string, string, string][] = [
      ['round wall time (job created -> round closed)', `${roundSeconds.toFixed(2)} s`, ''],
      [`download (${SITES} x ${(result.update_bytes / 2 ** 20).toFixed(1)} MiB, concurrent)`, `${downloadSeconds.toFixed(2)} s`, ''],
      ['transfer: upload, concurrent', `${uploadSeconds.toFixed(2)} s`, `${(uploadSeconds / tcp).toFixed(1)}x raw TCP (${tcp.toFixed(3)} s)`],
      ['aggregation (load, verify, decode, FedAvg)', `${result.aggregation_seconds.toFixed(2)} s`, `${(result.aggregation_seconds / sumOnly).toFixed(1)}x in-memory sum (${sumOnly.toFixed(3)} s)`],
      ['persistence: updates (blob fsync + rows)', `${persistUpdates.toFixed(2)} s`, 'summed over sites'],
      ['persistence: new model (blob fsync + rows)', `${result.persistence_model_seconds.toFixed(2)} s`, ''],
      ['coordinator peak memory (VmHWM)', `${peak.toFixed(0)} MiB`, `${(peak / ((SITES * result.update_bytes) / 2 ** 20)).toFixed(2)}x all updates' bytes`],
    ];
    process.stdout.write(`plaintext round: ${SITES} sites, ${PARAMS.toLocaleString('en')} parameters, ${result.database}\n\n`);
    const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[1].length))];
    process.stdout.write(`${'measure'.padEnd(w[0]!)}  ${'value'.padStart(w[1]!)}  vs baseline\n`);
    for (const r of rows) process.stdout.write(`${r[0].padEnd(w[0]!)}  ${r[1].padStart(w[1]!)}  ${r[2]}\n`);
  }
} finally {
  coord.child.kill('SIGTERM');
  await new Promise((r) => coord.child.once('exit', r));
  await rm(dataDir, { recursive: true, force: true });
  await benchDb.drop();
}
