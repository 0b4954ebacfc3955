// Authentication under a constant load on loopback: token issuance and authenticated reads at 500 and
// 1,000 requests/s against a real coordinator process (autocannon, coordinated-omission corrected).
// Baseline, measured in the same run: an open route (GET /healthz) at the same rate, so the ratio is
// what identity and access add. Target: p99 under 25 ms at 1,000 requests/s for an authenticated read.
//   node bench/auth.ts [--seconds N] [--rates 500,1000] [--connections N] [--json]   (MEDFED_BENCH_PG=postgres://... for PostgreSQL)
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import { createClientAssertion, createDpopProof } from '@medfed/proto/auth/index';
import { enrollAgent, loadAgentIdentity } from '@medfed/node-agent/identity/index';
import { optionalBenchDatabase } from './lib/bench-database.ts';

const args = process.argv.slice(2);
const json = args.includes('--json');
const arg = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const SECONDS = Number(arg('--seconds') ?? 4);
const RATES = (arg('--rates') ?? '500,1000').split(',').map(Number);
const root = new URL('..', import.meta.url).pathname;

async function startCoordinator(dataDir: string, databaseUrl: string | undefined) {
  const child = spawn(process.execPath, [join(root, 'cli/dist/main.js'), 'coordinator', 'start', '--rest-port', '0', '--grpc-port', '0',
    '--data-dir', dataDir, '--log-level', 'warn', ...(databaseUrl ? ['--database-url', databaseUrl] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = await new Promise<{ rest: string; grpc: string; adminTokenFile: string }>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line)));
    child.once('exit', (code) => reject(new Error(`coordinator exited with ${code}`)));
  });
  return { child, ...ready, adminKey: (await readFile(ready.adminTokenFile, 'utf8')).trim() };
}

async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    method, headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const payload = await res.json() as Record<string, unknown>;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(payload)}`);
  return payload;
}

/** The part of autocannon's interface this benchmark uses (the package ships no types). */
type CannonOptions = Record<string, unknown>;
interface CannonResult {
  latency: { p50: number; p99: number };
  requests: { average: number; total: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
// @ts-ignore -- autocannon has no type declarations
const autocannon = (await import('autocannon')).default as (options: CannonOptions, done: (err: Error | null, result: CannonResult) => void) => unknown;

interface Scenario {
  readonly name: string;
  readonly options: (rate: number) => CannonOptions;
}

interface Measure { scenario: string; rate: number; p50_ms: number; p99_ms: number; achieved_rps: number; errors: number; requests: number }

function run(options: CannonOptions): Promise<CannonResult> {
  return new Promise((resolve, reject) => {
    autocannon(options, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

const dataDir = await mkdtemp(join(tmpdir(), 'medfed-bench-auth-'));
const benchDb = await optionalBenchDatabase();
const coord = await startCoordinator(dataDir, benchDb.url);
try {
  const base = coord.rest;
  // A person (researcher) logged in with an API key: the authenticated read is GET /v1/auth/whoami.
  const admin = String((await call(base, 'POST', '/v1/auth/token', { api_key: coord.adminKey })).access_token);
  const auth = { authorization: `Bearer ${admin}` };
  const researcherKey = String((await call(base, 'POST', '/v1/admin/api-keys', { name: 'bench', role: 'researcher' }, auth)).apiKey);
  const researcher = String((await call(base, 'POST', '/v1/auth/token', { api_key: researcherKey })).access_token);
  // An agent with its key: each read carries a fresh DPoP proof (and its jti goes to the replay cache).
  await call(base, 'POST', '/v1/sites', { id: 'bench-site' }, auth);
  const { enrollmentCode } = await call(base, 'POST', '/v1/sites/bench-site/enrollment-codes', undefined, auth) as { enrollmentCode: string };
  const stateDir = join(dataDir, 'agent');
  await enrollAgent({ coordinator: coord.grpc, channelCredentials: grpc.credentials.createInsecure(), siteId: 'bench-site', code: enrollmentCode, stateDir, agentVersion: 'bench' });
  const { identity, key } = await loadAgentIdentity(stateDir);
  const nodeToken = String((await call(base, 'POST', '/v1/auth/token', {
    assertion: createClientAssertion({ privateKey: key.privateKey, siteId: 'bench-site', audience: identity.issuer, keyThumbprint: key.jkt }),
  }, { dpop: createDpopProof({ privateKey: key.privateKey, publicJwk: key.publicJwk, htm: 'POST', htu: `${base}/v1/auth/token` }) })).access_token);
  const nodeReadUrl = `${base}/v1/sites/bench-site`;

  const common = (rate: number) => ({ url: base, duration: SECONDS, connections: Number(arg('--connections') ?? 10), overallRate: rate });
  const scenarios: Scenario[] = [
    { name: 'baseline: open route (GET /healthz)', options: (rate) => ({ ...common(rate), url: `${base}/healthz` }) },
    { name: 'authenticated read, person (Bearer, GET /v1/auth/whoami)', options: (rate) => ({ ...common(rate), url: `${base}/v1/auth/whoami`, headers: { authorization: `Bearer ${researcher}` } }) },
    { name: 'authenticated read, agent (DPoP proof per request, GET /v1/sites/:id)', options: (rate) => ({
      ...common(rate), url: nodeReadUrl,
      requests: [{ method: 'GET', setupRequest: (req: Record<string, unknown>) => ({ ...req, headers: {
        authorization: `DPoP ${nodeToken}`,
        dpop: createDpopProof({ privateKey: key.privateKey, publicJwk: key.publicJwk, htm: 'GET', htu: nodeReadUrl, accessToken: nodeToken }),
      } }) }],
    }) },
    { name: 'token issuance, person (POST /v1/auth/token with an API key)', options: (rate) => ({
      ...common(rate), url: `${base}/v1/auth/token`, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: researcherKey }),
    }) },
  ];

  // Warm-up (not measured): JIT, connection pools and caches settle before the first measured run.
  for (const s of scenarios.slice(1, 3)) await run({ ...s.options(RATES[0] ?? 500), duration: 1 });
  const measures: Measure[] = [];
  for (const rate of RATES) {
    for (const s of scenarios) {
      const r = await run(s.options(rate));
      measures.push({
        scenario: s.name, rate, p50_ms: r.latency.p50, p99_ms: r.latency.p99, achieved_rps: r.requests.average,
        errors: r.errors + r.timeouts + r.non2xx, requests: r.requests.total,
      });
    }
  }
  const baselineAt = (rate: number) => measures.find((m) => m.rate === rate && m.scenario.startsWith('baseline'))!;
  const target = measures.find((m) => m.rate === 1000 && m.scenario.startsWith('authenticated read, person'));
  const result = {
    seconds_per_run: SECONDS, rates: RATES, database: process.env.MEDFED_BENCH_PG ? 'postgresql' : 'pglite',
    measures: measures.map((m) => ({ ...m, p99_vs_baseline: m.p99_ms / Math.max(baselineAt(m.rate).p99_ms, 0.001) })),
    target: target ? { p99_ms: target.p99_ms, limit_ms: 25, met: target.p99_ms < 25 && target.errors === 0 } : null,
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    process.stdout.write(`authentication under constant load: ${SECONDS} s per run, ${result.database}, loopback, coordinator in its own process\n\n`);
    const rows = result.measures.map((m) => [m.scenario, String(m.rate), m.achieved_rps.toFixed(0), m.p50_ms.toFixed(1), m.p99_ms.toFixed(1),
      `${m.p99_vs_baseline.toFixed(1)}x`, String(m.errors)]);
    const head = ['scenario', 'rate/s', 'achieved/s', 'p50 ms', 'p99 ms', 'p99 vs open route', 'errors'];
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
    process.stdout.write(`${line(head)}\n${w.map((n) => '-'.repeat(n)).join('  ')}\n${rows.map(line).join('\n')}\n`);
    if (result.target) process.stdout.write(`\ntarget (person read at 1000/s: p99 < 25 ms, no errors): ${result.target.met ? 'met' : 'NOT met'} (p99 ${result.target.p99_ms.toFixed(1)} ms)\n`);
  }
} finally {
  coord.child.kill('SIGTERM');
  await new Promise((r) => coord.child.once('exit', r));
  await rm(dataDir, { recursive: true, force: true });
  await benchDb.drop();
}
