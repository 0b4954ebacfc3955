import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { startCoordinator, loadCoordinatorConfig, type RunningCoordinator } from '@medfed/coordinator';
import { writeDevCa } from '@medfed/coordinator/keys/index';
import { AGENT_VERSION } from '@medfed/node-agent';
import { channelCredentials, enrollAgent } from '@medfed/node-agent/identity/index';
import { ensureSiteKeys, pinsOf } from '@medfed/node-agent/custody/site-keys';
import { createTrainerSandbox, sandboxAvailability, type AvailabilityCheck } from '@medfed/node-agent/sandbox/index';
import type { JobSpec } from '@medfed/proto';
import { CliError } from '../fail.js';
import { ExitCode } from '../exit-codes.js';
import { RestClient } from './rest-client.js';
import { fileLogger } from '../logging.js';

export interface LocalSite {
  readonly id: string;
  readonly csv: string;
  readonly role: 'trainer' | 'evaluator';
}

export type JobView = Awaited<ReturnType<RestClient['job']>>;

export interface LocalFederationOptions {
  readonly workDir: string;
  readonly sites: readonly LocalSite[];
  readonly label: string;
  readonly spec: Omit<JobSpec, 'sites' | 'evaluators'>;
  readonly log: Logger;
  readonly inMemoryDatabase: boolean;
  readonly databaseUrl?: string | undefined;
  readonly onUpdate?: (view: JobView) => void;
  readonly timeoutMs?: number;
  /** Runs once the job finished, while the coordinator still serves (exports, verification). */
  readonly afterRun?: (run: FinishedRun) => Promise<void>;
  /** Per site id, the `development` block of its agent config (development only, e.g. trainingSlowdown). */
  readonly siteDevelopment?: Readonly<Record<string, SiteDevelopment>>;
}

/** Development-only agent settings a simulation may give one site (an agent in production refuses them). */
export interface SiteDevelopment {
  /** After local training the agent waits (factor - 1) x the training's wall time before uploading. */
  readonly trainingSlowdown?: number;
}

/** What `afterRun` gets: the running coordinator, an admin REST client and the finished job. */
export interface FinishedRun {
  readonly coordinator: RunningCoordinator;
  readonly rest: RestClient;
  readonly jobId: string;
  readonly view: JobView;
  readonly ca: Buffer;
  /** Each site's agent state directory (its custody keys, the steward key among them). */
  readonly siteStateDirs: Readonly<Record<string, string>>;
}

export interface LocalFederationResult {
  readonly view: JobView;
  readonly coordinator: { rest: string; grpc: string; dataDir: string; adminTokenFile: string; caFile: string; log: string };
  readonly agentLogs: Record<string, string>;
  /** This machine's clock (ms since the epoch) when the job was created and when it was seen finished. */
  readonly observed: { readonly jobCreatedAt: number; readonly jobFinishedAt: number };
}

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

/**
 * One line for the console when the sites' agents will train unsandboxed, naming the cause and its
 * fix; undefined when the sandbox works. Development agents fall back without it and say so only in
 * their own logs, so whoever starts a local federation probes first (the agents run the same probe).
 */
export async function sandboxNotice(): Promise<string | undefined> {
  const availability = await sandboxAvailability();
  const failed = availability.checks.find((c) => !c.ok);
  if (availability.available || failed === undefined) return undefined;
  return `training is NOT sandboxed: ${sandboxCause(failed)}; production agents refuse to train without it`;
}

function sandboxCause(check: AvailabilityCheck): string {
  switch (check.name) {
    case 'bubblewrap': return 'bubblewrap is not installed (sudo apt-get install bubblewrap)';
    case 'prlimit': return 'prlimit is not installed (sudo apt-get install util-linux)';
    case 'node': return check.detail;
    default: return check.fix === undefined ? check.detail : `${check.detail} (${check.fix})`;
  }
}

/**
 * A real federation on one machine: the coordinator in this process (REST + gRPC on loopback, TLS with
 * a local development CA), each site a separate agent process with its own data file, state directory,
 * log, and key: every agent enrolls with a one-time code and calls with key-bound tokens.
 */
export async function runLocalFederation(opts: LocalFederationOptions): Promise<LocalFederationResult> {
  const workDir = resolve(opts.workDir);
  const dataDir = join(workDir, 'coordinator');
  const tls = await writeDevCa(join(workDir, 'tls'), ['localhost', '127.0.0.1', '::1']);
  const ca = await readFile(tls.caCert);
  const config = await loadCoordinatorConfig({
    env: {},
    overrides: {
      'rest.port': 0, 'grpc.port': 0, dataDir, inMemoryDatabase: opts.inMemoryDatabase, databaseUrl: opts.databaseUrl,
      logLevel: 'info', tickSeconds: 0.5, 'tls.cert': tls.serverCert, 'tls.key': tls.serverKey,
      // By name, not by IP address: TLS clients send the name (SNI) and check it against the certificate.
      'rest.host': 'localhost', 'grpc.host': 'localhost',
    },
  });
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const coordinatorLog = join(dataDir, 'coordinator.log');
  const coordinator: RunningCoordinator = await startCoordinator(config, fileLogger('info', coordinatorLog, { component: 'coordinator' }));
  const agents = new Map<string, ChildProcess>();
  const agentLogs: Record<string, string> = {};
  try {
    if (!coordinator.adminKey) throw new CliError('AUTH_API_KEY_REVOKED', 'the bootstrap admin key was revoked', ExitCode.AUTH);
    const rest = new RestClient(coordinator.rest, { apiKey: coordinator.adminKey }, { ca });
    for (const site of opts.sites) await rest.registerSite(site.id);
    // Each agent gets its own key, generated in its state directory, enrolled with a one-time code.
    await Promise.all(opts.sites.map(async (site) => {
      const { enrollmentCode } = await rest.enrollmentCode(site.id);
      await enrollAgent({
        coordinator: coordinator.grpc, channelCredentials: channelCredentials(coordinator.grpc, { ca: tls.caCert }), siteId: site.id, code: enrollmentCode,
        stateDir: join(workDir, 'sites', site.id, 'state'), agentVersion: AGENT_VERSION,
      });
    }));
    // Custody keys per site, and the pins the stewards would exchange out of band: here the demo
    // plays that channel and auto-approves site lists with development steward identities.
    // The trust anchors each agent pins: the coordinator's manifest keys and its log key. The demo
    // plays the out-of-band channel here too.
    const trustJwks = join(workDir, 'trust', 'manifest-jwks.json');
    await mkdir(join(workDir, 'trust'), { recursive: true, mode: 0o700 });
    await writeFile(trustJwks, `${JSON.stringify(coordinator.publisher.jwks(), null, 2)}\n`);
    await writeFile(join(workDir, 'trust', 'checkpoint.vkey'), `${coordinator.publisher.checkpointKey}\n`);
    opts.log.info('development site stewards approve automatically: each agent approves the job on first sight (approvals.autoApproveInDevelopment)');
    const pins = [];
    for (const site of opts.sites) pins.push(pinsOf(site.id, await ensureSiteKeys(join(workDir, 'sites', site.id, 'state'))));
    for (const site of opts.sites) {
      const siteDir = join(workDir, 'sites', site.id);
      await mkdir(siteDir, { recursive: true, mode: 0o700 });
      const pinnedSites = join(siteDir, 'pinned-sites.json');
      await writeFile(pinnedSites, `${JSON.stringify({ note: 'development pins written by medfed demo/simulate', sites: pins }, null, 2)}\n`, { mode: 0o600 });
      const logFile = join(siteDir, 'agent.log');
      const configFile = join(siteDir, 'agent.json');
      await writeFile(configFile, JSON.stringify({
        siteId: site.id,
        coordinator: { grpc: coordinator.grpc, tls: { ca: tls.caCert } },
        data: { csv: resolve(site.csv), label: opts.label },
        stateDir: join(siteDir, 'state'),
        logFile,
        pollWaitMs: 2000,
        heartbeatSeconds: 2,
        custody: { pinnedSites, autoApproveSiteLists: true },
        // Development only (an agent in production refuses it): these stewards approve every job.
        approvals: { autoApproveInDevelopment: true },
        trust: { manifestJwks: trustJwks, checkpointKey: coordinator.publisher.checkpointKey },
        ...(opts.siteDevelopment?.[site.id] ? { development: opts.siteDevelopment[site.id] } : {}),
      }, null, 2));
      agentLogs[site.id] = logFile;
      const child = spawn(process.execPath, [MAIN, 'agent', 'start', '--config', configFile], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, MEDFED_LOG_LEVEL: 'info' },
      });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
      child.on('exit', (code) => {
        if (code && code !== 0) opts.log.warn({ site: site.id, code, stderr }, 'agent exited');
      });
      agents.set(site.id, child);
      // However this process ends (a closed pipe, an uncaught error), its agents do not outlive it.
      process.once('exit', () => { if (child.exitCode === null) child.kill('SIGKILL'); });
    }
    // The trainer build these agents run, measured the way their attestations measure it; in a
    // deployment it joins the allowlist through the supply-chain gate (medfed gate evaluate).
    const trainer = await createTrainerSandbox({ env: 'development', onWarning: () => {} });
    const trainerDigest = trainer.trainerDigest;
    await trainer.dispose();
    const spec: JobSpec = {
      trainerAllowlist: [trainerDigest],
      ...opts.spec,
      sites: opts.sites.filter((s) => s.role === 'trainer').map((s) => s.id),
      evaluators: opts.sites.filter((s) => s.role === 'evaluator').map((s) => s.id),
    };
    // A job lists sites that are up: wait until every agent has announced itself (and its keys).
    const started = Date.now();
    for (;;) {
      const listed = await rest.sites();
      const ready = opts.sites.every((site) => listed.find((x) => x.id === site.id)?.status === 'active');
      if (ready) break;
      for (const [id, child] of agents) {
        if (child.exitCode !== null) throw new CliError('AGENT_EXITED', `agent ${id} exited with code ${child.exitCode} before enrolling; see ${agentLogs[id]}`, ExitCode.FAILURE);
      }
      if (Date.now() - started > 120_000) throw new CliError('RUN_TIMEOUT', 'agents did not come up within 120 s', ExitCode.FAILURE);
      await sleep(200);
    }
    const jobId = await rest.createJob(spec);
    const jobCreatedAt = Date.now();
    const deadline = Date.now() + (opts.timeoutMs ?? 30 * 60_000);
    let view = await rest.job(jobId);
    let lastSignature = '';
    while (view.status === 'running') {
      if (Date.now() > deadline) throw new CliError('RUN_TIMEOUT', `job ${jobId} did not finish in time`, ExitCode.FAILURE);
      for (const [id, child] of agents) {
        if (child.exitCode !== null && child.exitCode !== 0) {
          throw new CliError('AGENT_EXITED', `agent ${id} exited with code ${child.exitCode}; see ${agentLogs[id]}`, ExitCode.FAILURE);
        }
      }
      const signature = JSON.stringify([view.currentRound, view.rounds.map((r) => r.status), view.figures.length, view.waitingSummary]);
      if (signature !== lastSignature) {
        opts.onUpdate?.(view);
        lastSignature = signature;
      }
      await sleep(250);
      view = await rest.job(jobId);
    }
    const jobFinishedAt = Date.now();
    opts.onUpdate?.(view);
    if (view.status !== 'completed') {
      throw new CliError('RUN_FAILED', `job ${jobId} ${view.status}: ${view.failure ?? 'no reason recorded'} (agent logs: ${Object.values(agentLogs).join(', ')})`, ExitCode.FAILURE);
    }
    const siteStateDirs = Object.fromEntries(opts.sites.map((site) => [site.id, join(workDir, 'sites', site.id, 'state')]));
    await opts.afterRun?.({ coordinator, rest, jobId, view, ca, siteStateDirs });
    return {
      view,
      coordinator: { rest: coordinator.rest, grpc: coordinator.grpc, dataDir, adminTokenFile: coordinator.adminTokenFile, caFile: tls.caCert, log: coordinatorLog },
      agentLogs,
      observed: { jobCreatedAt, jobFinishedAt },
    };
  } finally {
    await stopAgents(agents);
    await coordinator.close();
  }
}

async function stopAgents(agents: Map<string, ChildProcess>): Promise<void> {
  await Promise.all([...agents.values()].map(async (child) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }));
}
