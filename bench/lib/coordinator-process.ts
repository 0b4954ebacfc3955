// A real coordinator process for benchmarks: its own data dir (and optionally a fresh PostgreSQL
// database), an operator token from its bootstrap API key, and the timing lines it logs.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { optionalBenchDatabase } from './bench-database.ts';

export type Timing = { phase: string; ms?: number; aggregateMs?: number; persistMs?: number; encrypted?: boolean };

export interface BenchCoordinator {
  child: ChildProcess;
  rest: string;
  grpc: string;
  token: string;
  timings: Timing[];
  database: 'pglite' | 'postgresql';
  call(method: string, path: string, body?: unknown): Promise<any>;
  peakRssMiB(): Promise<number>;
  stop(): Promise<void>;
}

const root = new URL('../..', import.meta.url).pathname;

export async function startBenchCoordinator(): Promise<BenchCoordinator> {
  const dataDir = await mkdtemp(join(tmpdir(), 'medfed-bench-'));
  const db = await optionalBenchDatabase();
  // Benchmarks measure rounds, not credentials (bench/auth.ts does): agents call without tokens,
  // which a development coordinator on loopback allows when asked to.
  const configFile = join(dataDir, 'bench.json');
  await writeFile(configFile, JSON.stringify({ auth: { allowAnonymousNodes: true }, tickSeconds: 0.05 }));
  const child = spawn(process.execPath, [join(root, 'cli/dist/main.js'), 'coordinator', 'start', '--config', configFile,
    '--rest-port', '0', '--grpc-port', '0', '--data-dir', dataDir, '--log-level', 'info', ...(db.url ? ['--database-url', db.url] : [])],
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
  const apiKey = (await readFile(ready.adminTokenFile, 'utf8')).trim();
  const tokenRes = await fetch(`${ready.rest}/v1/auth/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: apiKey }),
  });
  if (!tokenRes.ok) throw new Error(`token exchange failed: ${tokenRes.status} ${await tokenRes.text()}`);
  const token = ((await tokenRes.json()) as { access_token: string }).access_token;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${ready.rest}${path}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  return {
    child, rest: ready.rest, grpc: ready.grpc, token, timings, call,
    database: db.url ? 'postgresql' : 'pglite',
    peakRssMiB: () => readFile(`/proc/${child.pid}/status`, 'utf8').then((s) => Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? 0) / 1024),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await rm(dataDir, { recursive: true, force: true });
      await db.drop();
    },
  };
}

export async function waitForRoundClosed(c: BenchCoordinator, jobId: string, round: number): Promise<void> {
  for (;;) {
    const view = await c.call('GET', `/v1/jobs/${jobId}`);
    const r = view.rounds.find((x: { round: number; status: string }) => x.round === round);
    if (r?.status === 'closed') return;
    if (view.status === 'failed') throw new Error(`job failed: ${view.failure}`);
    await new Promise((res) => setTimeout(res, 10));
  }
}

export function printTable(title: string, rows: [string, string, string][]): void {
  process.stdout.write(`${title}\n\n`);
  const w = [Math.max(7, ...rows.map((r) => r[0].length)), Math.max(5, ...rows.map((r) => r[1].length))];
  process.stdout.write(`${'measure'.padEnd(w[0]!)}  ${'value'.padStart(w[1]!)}  vs baseline\n`);
  for (const r of rows) process.stdout.write(`${r[0].padEnd(w[0]!)}  ${r[1].padStart(w[1]!)}  ${r[2]}\n`);
}
