import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { freePort } from '../support/free-port.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeDevCa } from '@medfed/coordinator/keys/index';
import { channelCredentials, enrollAgent } from '@medfed/node-agent/identity/index';
import { ensureSiteKeys, pinsOf } from '@medfed/node-agent/custody/site-keys';
import { loadDataset } from '@medfed/node-agent/data/index';
import { readCsv } from '@medfed/node-agent/data/read-csv';
import { PrivacyLedger } from '@medfed/node-agent/privacy/ledger/index';
import type { JobSpec } from '@medfed/proto';
import { CLINICAL_LABEL, generateClinicalDataset, writeCsv } from '../../cli/src/simulate/index.js';
import { writeSiteFiles } from '../../cli/src/federation/site-files.js';
import type { LocalSite, FinishedRun } from '../../cli/src/federation/local-federation.js';
import { jobTemplate } from '../../cli/src/federation/job-template.js';
import { RestClient, type JobViewBody } from '../../cli/src/federation/rest-client.js';
import { releaseWithDevelopmentIdentities } from '../../cli/src/commands/release-demo.js';
import { freshDatabase, type TestDb } from '../../coordinator/test/support/databases.js';
import { runCli, type CliRun } from '../support/cli.js';
import { matches, MedfedProcess, type ExitInfo, type LogLine, type WaitOptions } from '../support/processes.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/**
 * The fault-injection harness: one small federation per scenario, every part a real process.
 *
 *  - `medfed coordinator start` (one, or a leader and a standby on one database), TLS with a
 *    development CA, on a fresh PostgreSQL database, as separate OS processes that the scenarios
 *    kill -9 and restart with the same arguments;
 *  - one `medfed agent start` per site (the demo's 3 training sites), each talking
 *    gRPC over TLS to the coordinator through its own loopback TCP proxy (test/support/tcp-proxy.ts),
 *    so that a scenario can throttle or cut one site's link;
 *  - the demo's job over the demo's synthetic cohort (small), encrypted, with DP-SGD (spec.dp) so
 *    that every site charges its privacy ledger every round.
 *
 * Development approvals: the agents approve the job and its site list on first sight
 * (approvals.autoApproveInDevelopment, custody.autoApproveSiteLists), exactly as `medfed demo` does;
 * no steward is in the loop, which is acceptable for fault injection and refused in production.
 *
 * After the job, collect() gathers what the scenario must prove: contributions sent (agent logs),
 * acknowledged (agent logs) and aggregated (the coordinator's database), the sites' ledgers against
 * the `privacy.spend` audit events, `medfed audit verify` and `medfed model verify` of the released
 * model (the demo's release workflow), and the coordinators' own health (no crash, no unhandled error).
 */

export const ROUNDS = 3;
/** Generous for a round on a busy 2-core machine with a 20 s outage in it; short enough that a stuck round fails the job soon. */
export const ROUND_DEADLINE_SECONDS = 120;
const PATIENTS = 600;
const SEED = 7;
/** DP-SGD at every site: each round is charged to the site's ledger before training. */
const DP = { noiseMultiplier: 1.1, clipNorm: 1, sampleRate: 0.25, delta: 1e-5 } as const;
/** The sites' budgets: large enough for a few retried rounds, so a double charge shows up as a mismatch, not a refusal. */
const PRIVACY = { dataset: 'cohort', budgetEpsilon: 500, budgetDelta: 0.001 } as const;

/** Environment of every child: the caller's, minus MEDFED_* settings that would override the files. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MEDFED_')) env[k] = v;
  return { ...env, MEDFED_LOG_LEVEL: 'info', ...extra };
}

/** Polls `condition` every 20 ms until it holds; rejects on timeout or abort. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  while (!(await condition())) {
    if (options.signal?.aborted) throw new Error(`aborted (${String(options.signal.reason)}) waiting for ${what}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${options.timeoutMs / 1000} s waiting for ${what}`);
    await sleep(20);
  }
}

const PINO_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'component', 'msg', 'job', 'site', 'v', 'name']);

/** How a table cell names a proving line: 'msg' {fields} @process#incarnation. */
export function describeLine(line: LogLine): string {
  const j = line.json;
  if (!j) return `"${line.text.slice(0, 80)}" @${line.process}#${line.incarnation}`;
  const fields = Object.entries(j).filter(([k, v]) => !PINO_FIELDS.has(k) && (typeof v !== 'object' || v === null)).map(([k, v]) => `${k}: ${String(v)}`);
  if (typeof j.site === 'string' && line.source !== 'log') fields.unshift(`site: ${j.site}`);
  return `'${String(j.msg ?? j.event)}'${fields.length ? ` {${fields.join(', ')}}` : ''} @${line.process}#${line.incarnation}`;
}

// ------------------------------------------------------------------------------------------------
// fixtures shared by every scenario (read-only): the cohort split, the job spec, the development CA

export interface Fixtures {
  /** The suite's temporary root: every scenario's files live under `<root>/scenarios/<id>/`. */
  readonly root: string;
  readonly sites: readonly LocalSite[];
  readonly ca: { readonly caCert: string; readonly serverCert: string; readonly serverKey: string };
  readonly spec: Omit<JobSpec, 'sites' | 'evaluators'>;
}

export async function prepareFixtures(): Promise<Fixtures> {
  const root = await mkdtemp(join(tmpdir(), 'medfed-faults-'));
  const dataDir = join(root, 'data');
  await mkdir(dataDir, { recursive: true });
  const cohort = join(dataDir, 'cohort.csv');
  await writeCsv(cohort, generateClinicalDataset(PATIENTS, SEED));
  const split = await writeSiteFiles(await readCsv(cohort), {
    dir: dataDir, label: CLINICAL_LABEL, sites: 3, scheme: 'iid', seed: SEED, testFraction: 0.2,
  });
  const dataset = await loadDataset(cohort, { label: CLINICAL_LABEL });
  const job = jobTemplate(dataset, { name: 'fault injection', rounds: ROUNDS, seed: SEED, minSites: 3, encrypted: true });
  // A round takes seconds; a round that a fault leaves stuck fails at its deadline instead of holding the suite for 5 minutes.
  const roundDeadlineSeconds = ROUND_DEADLINE_SECONDS;
  const ca = await writeDevCa(join(root, 'tls'), ['localhost', '127.0.0.1', '::1']);
  // The demo's split also makes an evaluator site; the suite keeps to the 3 training sites (every agent
  // process costs seconds of CPU at start, and the trainers evaluate each round's model themselves).
  return { root, sites: split.sites.filter((s) => s.role === 'trainer'), ca, spec: { ...job, roundDeadlineSeconds, dp: { ...DP } } };
}

// ------------------------------------------------------------------------------------------------
// one federation

export interface FederationOptions {
  /** The scenario's id: its directory under `<root>/scenarios/`. */
  readonly id: string;
  readonly fixtures: Fixtures;
  /** 2: a leader and a standby on one database (`ha.*`, agents given both as coordinator.replicas). */
  readonly replicas?: 1 | 2;
  /** Extra coordinator configuration keys per replica (0-based), merged over the harness's. */
  readonly coordinatorConfig?: (replica: number, fed: Federation) => Record<string, unknown>;
  /** Put a TCP proxy between the coordinators and PostgreSQL (fed.dbProxy). */
  readonly databaseProxy?: boolean;
  /** Runs before the first coordinator starts (e.g. mounting a file system the configuration names). */
  readonly prepare?: (fed: Federation) => Promise<void>;
}

export interface Replica {
  readonly index: number;
  readonly name: string;
  readonly restPort: number;
  readonly grpcPort: number;
  readonly rest: string;
  readonly grpc: string;
  readonly dataDir: string;
  readonly configFile: string;
  process: MedfedProcess | null;
  /** From the `{"event":"listening"}` line. */
  adminKeyFile: string | null;
}

export interface Agent {
  readonly site: LocalSite;
  readonly dir: string;
  readonly stateDir: string;
  readonly logFile: string;
  readonly configFile: string;
  /** The agent's own link to the coordinator (not with replicas: 2). */
  readonly proxy: TcpProxy | null;
  process: MedfedProcess | null;
}

const LISTENING = (l: LogLine) => l.source === 'stdout' && l.json?.event === 'listening';

export class Federation {
  readonly options: FederationOptions;
  readonly dir: string;
  readonly logsDir: string;
  readonly replicas: Replica[] = [];
  readonly agents = new Map<string, Agent>();
  db!: TestDb;
  dbProxy: TcpProxy | null = null;
  /** Index of the replica that leads (receives REST calls and the agents' first address). */
  leader = 0;
  jobId = '';
  trainerDigest = '';
  trust = { jwks: '', logKey: '' };
  readonly cleanups: (() => Promise<void>)[] = [];
  readonly #rest = new Map<number, RestClient>();
  #ca!: Buffer;

  constructor(options: FederationOptions) {
    this.options = options;
    this.dir = join(options.fixtures.root, 'scenarios', options.id);
    this.logsDir = join(this.dir, 'logs');
  }

  get sites(): readonly LocalSite[] {
    return this.options.fixtures.sites;
  }

  get trainers(): string[] {
    return this.sites.filter((s) => s.role === 'trainer').map((s) => s.id);
  }

  coordinator(index = this.leader): MedfedProcess {
    const p = this.replicas[index]?.process;
    if (!p) throw new Error(`no coordinator replica ${index}`);
    return p;
  }

  agent(site: string): Agent {
    const a = this.agents.get(site);
    if (!a) throw new Error(`no agent ${site}`);
    return a;
  }

  /** Every process of this federation (coordinators and agents). */
  processes(): MedfedProcess[] {
    return [...this.replicas.map((r) => r.process), ...[...this.agents.values()].map((a) => a.process)].filter((p): p is MedfedProcess => p !== null);
  }

  /** An admin REST client for a replica (the bootstrap admin key from its key file). */
  async rest(index = this.leader): Promise<RestClient> {
    const cached = this.#rest.get(index);
    if (cached) return cached;
    const replica = this.replicas[index]!;
    if (!replica.adminKeyFile) throw new Error(`${replica.name} has not printed its admin key file yet`);
    const key = (await readFile(replica.adminKeyFile, 'utf8')).trim();
    const client = new RestClient(replica.rest, { apiKey: key }, { ca: this.#ca });
    this.#rest.set(index, client);
    return client;
  }

  /** SQL on the job's database, straight to PostgreSQL (never through dbProxy). */
  async query<T extends Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.db.db.query<T>(sql, params)).rows;
  }

  /** Coordinator, sites, enrollment, agents up and announced: everything but the job. */
  async start(): Promise<void> {
    const { fixtures } = this.options;
    await mkdir(this.logsDir, { recursive: true });
    this.#ca = await readFile(fixtures.ca.caCert);
    this.db = await freshDatabase('postgres', { migrate: false });
    let databaseUrl = this.db.url!;
    if (this.options.databaseProxy) {
      const url = new URL(databaseUrl);
      this.dbProxy = await TcpProxy.start({ target: { host: url.hostname, port: Number(url.port || 5432) } });
      url.hostname = '127.0.0.1';
      url.port = String(this.dbProxy.port);
      databaseUrl = url.toString();
    }
    const count = this.options.replicas ?? 1;
    for (let i = 0; i < count; i++) {
      const [restPort, grpcPort] = [await freePort(), await freePort()];
      const name = `coordinator-${String.fromCharCode(97 + i)}`;
      const dataDir = join(this.dir, name);
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      this.replicas.push({
        index: i, name, restPort, grpcPort, rest: `https://127.0.0.1:${restPort}`, grpc: `127.0.0.1:${grpcPort}`,
        dataDir, configFile: join(this.dir, `${name}.json`), process: null, adminKeyFile: null,
      });
    }
    // Each agent reaches a single coordinator through its own proxy (the faults cut those links). The
    // proxies listen before the coordinators start, so their addresses are among the authorities DPoP
    // proofs may name, as a deployment behind a proxy configures them.
    const siteProxies = new Map<string, TcpProxy>();
    if (count === 1) {
      for (const site of this.sites) siteProxies.set(site.id, await TcpProxy.start({ target: { host: '127.0.0.1', port: this.replicas[0]!.grpcPort } }));
    }
    const auth = {
      restOrigins: this.replicas.map((r) => r.rest),
      grpcAuthorities: [...this.replicas.map((r) => r.grpc), ...[...siteProxies.values()].map((p) => p.address)],
    };
    for (const r of this.replicas) {
      const config = {
        env: 'development',
        auth,
        rest: { host: '127.0.0.1', port: r.restPort },
        grpc: { host: '127.0.0.1', port: r.grpcPort },
        databaseUrl,
        dataDir: r.dataDir,
        logLevel: 'info',
        tickSeconds: 0.5,
        tls: { cert: fixtures.ca.serverCert, key: fixtures.ca.serverKey },
        ...(this.options.coordinatorConfig?.(r.index, this) ?? {}),
      };
      await writeFile(r.configFile, `${JSON.stringify(config, null, 2)}\n`);
    }
    await this.options.prepare?.(this);

    // The leader first (it migrates the fresh database), then any standby.
    await this.startCoordinator(0);
    for (const r of this.replicas.slice(1)) {
      r.process = MedfedProcess.start({ name: r.name, args: ['coordinator', 'start', '--config', r.configFile], outDir: this.logsDir, env: childEnv() });
      await r.process.waitFor((l) => l.source === 'stdout' && l.json?.event === 'standby', { what: `${r.name}'s {"event":"standby"} line`, timeoutMs: 90_000 });
    }
    const rest = await this.rest(0);

    // What the stewards pin out of band: the coordinator's manifest keys and its log key, as published.
    const jwks = await rest.call<{ keys: { kid?: string }[] }>('GET', '/.well-known/jwks.json');
    const manifestKeys = jwks.keys.filter((k) => k.kid?.startsWith('medfed-manifest-'));
    if (manifestKeys.length === 0) throw new Error('the coordinator publishes no manifest key in /.well-known/jwks.json');
    const checkpoint = await rest.call<{ log_key: string }>('GET', '/v1/log/checkpoint');
    await mkdir(join(this.dir, 'trust'), { recursive: true, mode: 0o700 });
    this.trust = { jwks: join(this.dir, 'trust', 'manifest-jwks.json'), logKey: join(this.dir, 'trust', 'checkpoint.vkey') };
    await writeFile(this.trust.jwks, `${JSON.stringify({ keys: manifestKeys }, null, 2)}\n`);
    await writeFile(this.trust.logKey, `${checkpoint.log_key}\n`);

    // Sites: registered, each agent's key enrolled with a one-time code through the agent's own link.
    const leader = this.replicas[0]!;
    for (const site of this.sites) {
      await rest.registerSite(site.id);
      const dir = join(this.dir, 'sites', site.id);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const proxy = siteProxies.get(site.id) ?? null;
      this.agents.set(site.id, {
        site, dir, stateDir: join(dir, 'state'), logFile: join(dir, 'agent.log'), configFile: join(dir, 'agent.json'), proxy, process: null,
      });
    }
    await Promise.all([...this.agents.values()].map(async (a) => {
      const { enrollmentCode } = await rest.enrollmentCode(a.site.id);
      const address = a.proxy?.address ?? leader.grpc;
      await enrollAgent({
        coordinator: address, channelCredentials: channelCredentials(address, { ca: fixtures.ca.caCert }), siteId: a.site.id, code: enrollmentCode,
        stateDir: a.stateDir, agentVersion: 'faults',
      });
    }));
    const pins = [];
    for (const a of this.agents.values()) pins.push(pinsOf(a.site.id, await ensureSiteKeys(a.stateDir)));
    for (const a of this.agents.values()) {
      const pinnedSites = join(a.dir, 'pinned-sites.json');
      await writeFile(pinnedSites, `${JSON.stringify({ note: 'development pins written by the fault suite', sites: pins }, null, 2)}\n`, { mode: 0o600 });
      await writeFile(a.configFile, `${JSON.stringify({
        siteId: a.site.id,
        coordinator: {
          grpc: a.proxy?.address ?? leader.grpc,
          tls: { ca: fixtures.ca.caCert },
          ...(count > 1 ? { replicas: this.replicas.map((r) => r.grpc) } : {}),
        },
        data: { csv: a.site.csv, label: CLINICAL_LABEL },
        stateDir: a.stateDir,
        logFile: a.logFile,
        logLevel: 'info',
        pollWaitMs: 2000,
        heartbeatSeconds: 2,
        privacy: PRIVACY,
        // Development only (refused in production): these stewards approve every site list and job.
        custody: { pinnedSites, autoApproveSiteLists: true },
        approvals: { autoApproveInDevelopment: true },
        trust: { manifestJwks: this.trust.jwks, checkpointKey: checkpoint.log_key },
      }, null, 2)}\n`);
      a.process = MedfedProcess.start({
        name: `agent-${a.site.id}`, args: ['agent', 'start', '--config', a.configFile], outDir: this.logsDir, logFile: a.logFile, env: childEnv(),
      });
    }
    // The trainer build the agents run, as they measure it (the job's allowlist names it).
    const digests = await Promise.all([...this.agents.values()].map(async (a) => (await a.process!.waitFor(
      (l) => l.source === 'log' && typeof l.json?.trainerDigest === 'string', { what: 'the trainer digest line', timeoutMs: 180_000 })).json!.trainerDigest as string));
    if (new Set(digests).size !== 1) throw new Error(`the agents measure different trainers: ${digests.join(', ')}`);
    this.trainerDigest = digests[0]!;
    for (const deadline = Date.now() + 120_000; ;) {
      const listed = await rest.sites();
      if (this.sites.every((s) => listed.find((x) => x.id === s.id)?.status === 'active')) break;
      for (const a of this.agents.values()) {
        if (!a.process!.running) throw new Error(`agent ${a.site.id} exited before announcing itself:\n${a.process!.tail(20)}`);
      }
      if (Date.now() > deadline) throw new Error('the agents did not come up within 120 s');
      await sleep(200);
    }
  }

  /** Starts (or restarts) a replica and waits for its `{"event":"listening"}` line. */
  async startCoordinator(index: number, timeoutMs = 90_000): Promise<LogLine> {
    const r = this.replicas[index]!;
    const from = r.process?.lines.length ?? 0;
    if (r.process) r.process.restart();
    else r.process = MedfedProcess.start({ name: r.name, args: ['coordinator', 'start', '--config', r.configFile], outDir: this.logsDir, env: childEnv() });
    const line = await r.process.waitFor(LISTENING, { what: `${r.name}'s {"event":"listening"} line`, timeoutMs, from });
    r.adminKeyFile = String(line.json!.adminTokenFile);
    return line;
  }

  /** kill -9 of a replica (default: the leader). */
  async killCoordinator(index = this.leader): Promise<ExitInfo> {
    return this.coordinator(index).kill9();
  }

  /** Restarts a killed replica with the same arguments and waits until it listens again. */
  async restartCoordinator(index = this.leader): Promise<LogLine> {
    this.#rest.delete(index);
    return this.startCoordinator(index);
  }

  /** Waits for a JSON log line of a coordinator replica (default: the leader): `msg` with these fields (and `predicate`). */
  coordinatorLog(msg: string, fields: Record<string, unknown>, options: Partial<WaitOptions> & { replica?: number; predicate?: (l: LogLine) => boolean } = {}): Promise<LogLine> {
    const extra = options.predicate ?? (() => true);
    return this.coordinator(options.replica ?? this.leader).waitFor((l) => l.json?.msg === msg && matches(l.json, fields) && extra(l), {
      what: options.what ?? `'${msg}' ${JSON.stringify(fields)}`, timeoutMs: options.timeoutMs ?? 180_000,
      ...(options.from !== undefined ? { from: options.from } : {}), ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /** Waits for a JSON log line of a site's agent. */
  agentLog(site: string, msg: string, fields: Record<string, unknown>, options: Partial<WaitOptions> = {}): Promise<LogLine> {
    return this.agent(site).process!.waitForLog(msg, fields, { timeoutMs: options.timeoutMs ?? 180_000, ...options, failOnExit: options.failOnExit ?? true });
  }

  async createJob(): Promise<string> {
    const spec: JobSpec = {
      trainerAllowlist: [this.trainerDigest],
      ...this.options.fixtures.spec,
      sites: this.trainers,
      evaluators: this.sites.filter((s) => s.role === 'evaluator').map((s) => s.id),
    };
    this.jobId = await (await this.rest()).createJob(spec);
    return this.jobId;
  }

  /** The job as the current leader shows it; other replicas are tried while the leader does not answer. */
  async jobView(): Promise<JobViewBody> {
    const order = [this.leader, ...this.replicas.map((r) => r.index).filter((i) => i !== this.leader)];
    let last: unknown;
    for (const i of order) {
      if (!this.replicas[i]!.process?.running || !this.replicas[i]!.adminKeyFile) continue;
      try {
        return await (await this.rest(i)).job(this.jobId);
      } catch (err) {
        last = err;
      }
    }
    throw last instanceof Error ? last : new Error('no coordinator answers');
  }

  /**
   * Polls the job until it is no longer running. Fails at once when a coordinator exits on its own,
   * and when `signal` is aborted (the scenario's fault injection failed).
   */
  async waitForJob(signal: AbortSignal, timeoutMs: number): Promise<JobViewBody> {
    const deadline = Date.now() + timeoutMs;
    let lastError = '';
    for (;;) {
      if (signal.aborted) throw new Error(`stopped waiting for job ${this.jobId}: ${String(signal.reason)}`);
      const crashed = this.replicas.flatMap((r) => r.process?.unexpectedExits().map((e) => `${r.name}#${e.incarnation} exited on its own (code ${e.code}, signal ${e.signal})`) ?? []);
      if (crashed.length > 0) throw new Error(`${crashed.join('; ')}\n${this.replicas.map((r) => r.process?.tail(15, 'stderr') ?? '').join('\n')}`);
      try {
        const view = await this.jobView();
        if (view.status !== 'running') return view;
        lastError = '';
      } catch (err) {
        lastError = (err as Error).message;
      }
      if (Date.now() > deadline) {
        throw new Error(`job ${this.jobId} still running after ${timeoutMs / 1000} s${lastError ? ` (last error: ${lastError})` : ''}`);
      }
      await sleep(300);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // post-conditions

  /** Contributions sent, acknowledged and aggregated, per closed round; every difference is a problem. */
  async contributions(): Promise<ContributionEvidence> {
    const problems: string[] = [];
    const sent = new Map<string, number>(); // "round/site" -> attempts
    const acked = new Map<string, Set<string>>(); // "round/site" -> sha256s
    for (const a of this.agents.values()) {
      await a.process?.flush();
      for (const l of a.process?.lines ?? []) {
        const j = l.json;
        if (!j || j.job !== this.jobId || typeof j.round !== 'number') continue;
        const key = `${j.round}/${a.site.id}`;
        if (j.msg === 'upload started') sent.set(key, (sent.get(key) ?? 0) + 1);
        if ((j.msg === 'update submitted' || j.msg === 'feature statistics submitted') && typeof j.sha256 === 'string') {
          acked.set(key, (acked.get(key) ?? new Set()).add(j.sha256));
        }
      }
    }
    const rounds = await this.query<{ round: number; kind: string; status: string }>(
      'SELECT round, kind, status FROM rounds WHERE job_id = $1 ORDER BY round', [this.jobId]);
    // The encrypted round sums name the sites the coordinator actually added up.
    const models = await this.query<{ round: number; contributors: string[] | null }>(
      `SELECT round, contributors FROM models WHERE job_id = $1 AND kind IN ('update-sum', 'stats-sum')`, [this.jobId]);
    const stored = await this.query<{ round: number; site_id: string; sha256: string }>(
      'SELECT round, site_id, sha256 FROM contributions WHERE job_id = $1', [this.jobId]);
    let nSent = 0;
    let attempts = 0;
    let nAcked = 0;
    let nAggregated = 0;
    let statsAggregated = 0;
    const uploadLines = sent.size > 0;
    for (const r of rounds.filter((x) => x.status === 'closed' && (x.kind === 'train' || x.kind === 'stats'))) {
      const model = models.find((m) => m.round === r.round && Array.isArray(m.contributors));
      const aggregated = model?.contributors ?? stored.filter((c) => c.round === r.round).map((c) => c.site_id);
      // The training rounds' updates are what the table counts; the standardisation round (feature
      // statistics, no 'upload started' line) is held to the same acknowledged = aggregated rule.
      const train = r.kind === 'train';
      if (train) nAggregated += aggregated.length;
      else statsAggregated += aggregated.length;
      for (const s of this.trainers) {
        const n = sent.get(`${r.round}/${s}`) ?? 0;
        const ack = acked.get(`${r.round}/${s}`);
        if (train) {
          if (n > 0) nSent++;
          attempts += n;
          if (ack) nAcked++;
        }
        const inSum = aggregated.filter((x) => x === s).length;
        if (inSum > 1) problems.push(`round ${r.round}: ${s} counted ${inSum} times in the aggregate`);
        if (ack && inSum === 0) problems.push(`round ${r.round}: ${s}'s acknowledged contribution is not in the aggregate (lost)`);
        if (!ack && inSum > 0) problems.push(`round ${r.round}: ${s} is in the aggregate but its agent never logged the acknowledgement`);
        if (ack && ack.size > 1) problems.push(`round ${r.round}: ${s} was acknowledged for ${ack.size} different payloads`);
        const row = stored.find((c) => c.round === r.round && c.site_id === s);
        if (ack && row && !ack.has(row.sha256)) problems.push(`round ${r.round}: ${s}'s stored contribution ${row.sha256.slice(0, 12)} is not the one acknowledged (${[...ack].map((x) => x.slice(0, 12)).join(', ')})`);
        if (train && uploadLines && ack && n === 0) problems.push(`round ${r.round}: ${s} acknowledged without an 'upload started' line`);
      }
      for (const s of aggregated) if (!this.trainers.includes(s)) problems.push(`round ${r.round}: ${s} is in the aggregate but does not train`);
    }
    return {
      sent: uploadLines ? nSent : null, attempts: uploadLines ? attempts : null, acknowledged: nAcked, aggregated: nAggregated, statsAggregated, problems,
      closedRounds: rounds.filter((x) => x.status === 'closed').map((x) => x.round),
    };
  }

  /** Each training site's ledger charges for this job against the `privacy.spend` events (rounds and totals). */
  async privacy(): Promise<PrivacyEvidence> {
    const problems: string[] = [];
    const events = await this.query<{ site: string; event: string }>(
      `SELECT site, event FROM audit_events WHERE job = $1 AND action = 'privacy.spend' AND outcome = 'success' ORDER BY seq`, [this.jobId]);
    const bySite = new Map<string, { round: number; total: number }[]>();
    for (const e of events) {
      const d = (JSON.parse(e.event) as { details: { round: number; epsilon_total: number } }).details;
      bySite.set(e.site, [...(bySite.get(e.site) ?? []), { round: d.round, total: d.epsilon_total }]);
    }
    let charges = 0;
    for (const site of this.trainers) {
      const ledgerDir = join(this.agent(site).stateDir, 'privacy-ledger');
      const files = (await readdir(ledgerDir).catch(() => [] as string[])).filter((f) => f.endsWith('.json'));
      const rounds: number[] = [];
      let spent = 0;
      for (const f of files) {
        const file = JSON.parse(await readFile(join(ledgerDir, f), 'utf8')) as { entries: { job?: string; purpose: string }[] };
        for (const entry of file.entries.filter((x) => x.job === this.jobId)) {
          const m = /round (\d+)$/.exec(entry.purpose);
          if (!m) problems.push(`${site}: ledger entry "${entry.purpose}" names no round`);
          else rounds.push(Number(m[1]));
        }
        spent += (await new PrivacyLedger({ stateDir: this.agent(site).stateDir, dataset: f.slice(0, -5) }).read()).spent.epsilon;
      }
      charges += rounds.length;
      const audited = bySite.get(site) ?? [];
      const a = [...rounds].sort((x, y) => x - y).join(',');
      const b = audited.map((x) => x.round).sort((x, y) => x - y).join(',');
      if (a !== b) problems.push(`${site}: ledger charged rounds [${a}], privacy.spend events for rounds [${b}]`);
      const total = audited.length > 0 ? Math.max(...audited.map((x) => x.total)) : 0;
      if (Math.abs(total - spent) > 1e-9 * Math.max(1, spent)) problems.push(`${site}: ledger spent epsilon ${spent}, last privacy.spend says ${total}`);
    }
    return { charges, events: events.length, problems };
  }

  /**
   * The release of the final model by development identities (as `medfed demo`), then
   * `medfed model export` + `medfed model verify` and `medfed audit export` + `medfed audit verify`,
   * each a separate CLI process against the leader, verified against the pinned keys.
   */
  async verifyExports(job: JobViewBody): Promise<{ audit: Verdict; model: Verdict }> {
    const replica = this.replicas[this.leader]!;
    const rest = await this.rest();
    const env = { NODE_EXTRA_CA_CERTS: this.options.fixtures.ca.caCert };
    const cli = (args: string[]) => runCli(args, { env: childEnv(env), timeoutMs: 120_000 });
    const verdict = (run: CliRun, what: string): Verdict => ({
      ok: run.code === 0,
      detail: run.code === 0 ? 'pass' : `FAIL: ${what} exit ${run.code}: ${(run.stderr || run.stdout).trim().split('\n').slice(-3).join(' | ').slice(0, 300)}`,
    });
    // The release first: its events belong in the audit export.
    let releaseId: string | null = null;
    let releaseFailure = '';
    if (job.status === 'completed') {
      const siteStateDirs = Object.fromEntries([...this.agents.values()].map((a) => [a.site.id, a.stateDir]));
      const run = { coordinator: { rest: replica.rest }, rest, jobId: this.jobId, view: job, ca: this.#ca, siteStateDirs } as unknown as FinishedRun;
      try {
        releaseId = (await releaseWithDevelopmentIdentities(run, ROUNDS, this.trainers, 180_000)).release.id;
      } catch (err) {
        releaseFailure = (err as Error).message.slice(0, 300);
      }
    }
    const modelCheck = (async (): Promise<Verdict> => {
      if (job.status !== 'completed') return { ok: null, detail: 'n/a (no final model)' };
      if (!releaseId) return { ok: false, detail: `FAIL: release: ${releaseFailure}` };
      const out = join(this.dir, 'model-bundle');
      const exported = await cli(['model', 'export', '--release', releaseId, '--out', out, '--coordinator', replica.rest, '--key-file', replica.adminKeyFile!, '--ca', this.options.fixtures.ca.caCert]);
      if (exported.code !== 0) return verdict(exported, 'medfed model export');
      return verdict(await cli(['model', 'verify', out, '--job', this.jobId, '--round', String(ROUNDS), '--jwks', this.trust.jwks, '--log-key', this.trust.logKey]), 'medfed model verify');
    })().catch((err: Error): Verdict => ({ ok: false, detail: `FAIL: ${err.message.slice(0, 300)}` }));
    const auditCheck = (async (): Promise<Verdict> => {
      const { apiKey } = await rest.createApiKey({ name: 'fault-suite-auditor', role: 'auditor', expiresInDays: 1 });
      const token = await new RestClient(replica.rest, { apiKey }, { ca: this.#ca }).accessToken();
      const file = join(this.dir, 'audit.tar.gz');
      const exported = await cli(['audit', 'export', '--coordinator', replica.rest, '--token', token, '--out', file]);
      if (exported.code !== 0) return verdict(exported, 'medfed audit export');
      return verdict(await cli(['audit', 'verify', file, '--jwks', this.trust.jwks, '--log-key', this.trust.logKey]), 'medfed audit verify');
    })().catch((err: Error): Verdict => ({ ok: false, detail: `FAIL: ${err.message.slice(0, 300)}` }));
    const [model, audit] = await Promise.all([modelCheck, auditCheck]);
    return { audit, model };
  }

  /** GET /readyz of a replica: its HTTP status (0 when it does not answer). */
  readyz(index = this.leader): Promise<number> {
    const url = new URL('/readyz', this.replicas[index]!.rest);
    return new Promise((resolve) => {
      const req = httpsRequest(url, { ca: this.#ca, timeout: 15_000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', () => resolve(0));
      req.end();
    });
  }

  /** Coordinator processes that logged an unhandled error or exited without being asked. */
  coordinatorHealth(): string[] {
    const problems: string[] = [];
    for (const r of this.replicas) {
      const p = r.process;
      if (!p) continue;
      for (const l of p.matching((x) => /unhandledRejection|uncaughtException|triggerUncaughtException/i.test(x.text))) {
        problems.push(`${r.name}#${l.incarnation} logged: ${l.text.slice(0, 200)}`);
      }
      for (const e of p.unexpectedExits()) problems.push(`${r.name}#${e.incarnation} exited on its own (code ${e.code}, signal ${e.signal})`);
    }
    return problems;
  }

  /** Agents that exited without being asked (not a failure by itself: the job's outcome shows the effect). */
  agentExits(): string[] {
    return [...this.agents.values()].flatMap((a) => a.process?.unexpectedExits().map((e) => `agent ${a.site.id}#${e.incarnation} exited on its own (code ${e.code})`) ?? []);
  }

  /** Stops every process, closes the proxies, drops the database, runs the scenario's cleanups. */
  async stop(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.process?.stop().catch(() => null)));
    await Promise.all(this.replicas.map((r) => r.process?.stop().catch(() => null)));
    await Promise.all([...this.agents.values()].map((a) => a.proxy?.close()));
    await this.dbProxy?.close();
    for (const c of this.cleanups.reverse()) await c().catch(() => {});
    await this.db?.drop().catch(() => {});
  }
}

export interface ContributionEvidence {
  /** Training rounds: distinct (site, round) uploads the agents logged as started (null: no agent logs 'upload started'). */
  readonly sent: number | null;
  readonly attempts: number | null;
  readonly acknowledged: number;
  readonly aggregated: number;
  /** Feature statistics summed in the standardisation round (round 0). */
  readonly statsAggregated: number;
  readonly closedRounds: number[];
  readonly problems: string[];
}

export interface PrivacyEvidence {
  readonly charges: number;
  readonly events: number;
  readonly problems: string[];
}

export interface Verdict {
  /** null: not applicable. */
  readonly ok: boolean | null;
  readonly detail: string;
}
