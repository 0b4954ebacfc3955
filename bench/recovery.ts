// Recovery of a replicated coordinator: two `medfed coordinator start` processes on one PostgreSQL
// database; SIGKILL the leader while a site holds an unfinished upload, and measure wall-clock seconds
// until the standby accepts that site's first retried upload. Beside it, the floor that design sets:
// the lease length (a standby may take over only after the leader's lease lapses).
//   node bench/recovery.ts [--json] [--lease S]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { encodeVector, parameterCount } from '@medfed/proto';
import { CoordinatorClient } from '@medfed/node-agent/transport/client';
import { freshBenchDatabase } from './lib/bench-database.ts';
import { printTable } from './lib/coordinator-process.ts';

const root = new URL('..', import.meta.url).pathname;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

interface Replica {
  child: ChildProcess;
  grpc: string;
  rest: string;
  dataDir: string;
  /** Resolves with the first stdout event of that name ("listening" or "standby"). */
  event(name: string): Promise<{ rest: string; grpc: string; adminTokenFile?: string }>;
}

async function startReplica(databaseUrl: string, leaseSeconds: number): Promise<Replica> {
  const dataDir = await mkdtemp(join(tmpdir(), 'medfed-recovery-'));
  const [restPort, grpcPort] = [await freePort(), await freePort()];
  const configFile = join(dataDir, 'coordinator.json');
  // Benchmarks measure recovery, not credentials: the development mode in which a call without
  // credentials acts as the site it names (loopback only).
  await writeFile(configFile, JSON.stringify({
    auth: { allowAnonymousNodes: true }, tickSeconds: 0.2, ha: { leaseSeconds }, databaseUrl,
    rest: { port: restPort }, grpc: { port: grpcPort }, dataDir, logLevel: 'warn',
  }));
  const child = spawn(process.execPath, [join(root, 'cli/dist/main.js'), 'coordinator', 'start', '--config', configFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  const events: { event: string; rest: string; grpc: string; adminTokenFile?: string }[] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      events.push(JSON.parse(line));
      for (const w of waiters.splice(0)) w();
    } catch { /* not an event line */ }
  });
  const event = async (name: string) => {
    for (;;) {
      const found = events.find((e) => e.event === name);
      if (found) return found;
      if (child.exitCode !== null) throw new Error(`coordinator exited with ${child.exitCode}`);
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return { child, dataDir, grpc: `127.0.0.1:${grpcPort}`, rest: `http://127.0.0.1:${restPort}`, event };
}

async function adminCall(rest: string, adminTokenFile: string) {
  const apiKey = (await readFile(adminTokenFile, 'utf8')).trim();
  const res = await fetch(`${rest}/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: apiKey }) });
  const token = ((await res.json()) as { access_token: string }).access_token;
  return async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${rest}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return r.json() as Promise<Record<string, unknown>>;
  };
}

export interface RecoveryReport {
  readonly lease_seconds: number;
  /** SIGKILL of the leader -> the standby has accepted the site's retried upload (wall clock). */
  readonly recovery_seconds: number;
  /** SIGKILL -> the standby printed "listening" (it holds the lease and serves). */
  readonly takeover_seconds: number;
  readonly retry_interval_ms: number;
  readonly database: 'postgresql';
}

export async function benchRecovery(options: { leaseSeconds?: number } = {}): Promise<RecoveryReport> {
  const leaseSeconds = options.leaseSeconds ?? 8;
  const db = await freshBenchDatabase();
  const replicas: Replica[] = [];
  try {
    const a = await startReplica(db.url, leaseSeconds);
    replicas.push(a);
    const leading = await a.event('listening');
    const b = await startReplica(db.url, leaseSeconds);
    replicas.push(b);
    await b.event('standby');
    const call = await adminCall(leading.rest, leading.adminTokenFile!);
    const sites = ['site-a', 'site-b', 'site-c'];
    for (const id of sites) await call('POST', '/v1/sites', { id });
    const P = parameterCount(3, [], 2);
    const job = await call('POST', '/v1/jobs', { spec: {
      name: 'recovery', features: ['f1', 'f2', 'f3'], label: 'y', classes: ['no', 'yes'], model: { hidden: [], activation: 'relu' },
      training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 1 },
      rounds: 1, minSites: 3, roundDeadlineSeconds: 600, strategy: { name: 'fedavg' }, sites, standardization: 'none',
      encryption: { enabled: false },
    } }) as { id: string };
    const clientA = new CoordinatorClient(a.grpc);
    const task = (await clientA.pollTask('site-a', 2000)).task!;
    clientA.close();
    const header = { siteId: 'site-a', jobId: job.id, round: task.round, submissionId: `${job.id}:${task.round}:site-a`, numSamples: 10, baseModelId: task.modelId };
    const payload = encodeVector(new Float32Array(P).fill(0.01));

    // The site retries like an agent that lists both replicas: the next replica, every 250 ms.
    const retryMs = 250;
    const clients = [new CoordinatorClient(a.grpc), new CoordinatorClient(b.grpc)];
    a.child.kill('SIGKILL');
    const killed = performance.now();
    const takeover = b.event('listening').then(() => (performance.now() - killed) / 1000);
    let accepted = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        await clients[attempt % 2]!.submitUpdate(header, payload);
        accepted = (performance.now() - killed) / 1000;
        break;
      } catch {
        if (performance.now() - killed > 120_000) throw new Error('the standby did not take over within 120 s');
        await new Promise((r) => setTimeout(r, retryMs));
      }
    }
    for (const c of clients) c.close();
    return { lease_seconds: leaseSeconds, recovery_seconds: accepted, takeover_seconds: await takeover, retry_interval_ms: retryMs, database: 'postgresql' };
  } finally {
    for (const r of replicas) {
      if (r.child.exitCode === null && r.child.signalCode === null) {
        r.child.kill('SIGTERM');
        await new Promise((res) => r.child.once('exit', res));
      }
      await rm(r.dataDir, { recursive: true, force: true });
    }
    await db.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const lease = args.includes('--lease') ? Number(args[args.indexOf('--lease') + 1]) : undefined;
  const r = await benchRecovery(lease ? { leaseSeconds: lease } : {});
  if (args.includes('--json')) process.stdout.write(`${JSON.stringify(r)}\n`);
  else {
    printTable('recovery: SIGKILL of the leader, standby on the same PostgreSQL database (wall clock)', [
      ['kill -> first retried upload accepted by the standby', `${r.recovery_seconds.toFixed(2)} s`, `target <= 15 s; ${(r.recovery_seconds / r.lease_seconds).toFixed(2)}x the lease (${r.lease_seconds} s), the floor`],
      ['kill -> standby serving as leader', `${r.takeover_seconds.toFixed(2)} s`, ''],
    ]);
  }
}
