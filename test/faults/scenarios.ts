import { execFile } from 'node:child_process';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { LogLine } from '../support/processes.js';
import { describeLine, Federation, type FederationOptions, type Fixtures, until } from './harness.js';

/**
 * The faults. Each scenario gets a fresh federation (database, directories, processes), creates the
 * job, and injects its fault while the job runs. Where the fault lands is PROVED by a log line seen
 * before it is injected (and, where timing could let it slip past, by the database state right after
 * the kill); never by a sleep. The log lines and settings named here are the contracts in
 * docs and the brief of this suite:
 *   coordinator: 'round opened' {job, round, kind}; 'update accepted' {job, round, site, received, expected};
 *     'metrics accepted' {job, round, site, phase}; 'round aggregating' {job, round}; 'round closed' {job, round};
 *     'publishing manifests' {count}; 'database unavailable' / 'database available again';
 *     'payload storage full'; 'leader lease acquired' {epoch}; 'standing by' {leader};
 *     stdout {"event":"listening"} and, for a standby, {"event":"standby"}; GET /readyz 503 while not serving.
 *   agent: 'upload started' {job, round, bytes}; 'update submitted' {job, round, sha256};
 *     'evaluation reported' {job, round}; 'task resumed from journal'.
 *   configuration: ha.leaseSeconds, ha.advertise.{grpc,rest}; blobs.store ('auto'|'postgres'|'file'), blobs.dir;
 *     agent coordinator.replicas; PostgreSQL payload tables blobs / blob_chunks(key, seq, data).
 */

export interface FaultContext {
  readonly fed: Federation;
  /** Aborted when the job ended (or the scenario failed): every wait of an injection passes it on. */
  readonly signal: AbortSignal;
  /** Records what proves the phase: the line seen before the fault, and what the fault was. */
  phase(line: LogLine | null, what: string): void;
  note(text: string): void;
  /** A failed expectation that does not stop the scenario. */
  problem(text: string): void;
}

export interface Scenario {
  readonly id: string;
  readonly fault: string;
  readonly federation?: Omit<FederationOptions, 'id' | 'fixtures'>;
  readonly inject?: (ctx: FaultContext) => Promise<void>;
  /** Scenario-specific evidence once the job ended; returns problems. */
  readonly verify?: (ctx: FaultContext) => Promise<string[]>;
  /** Default: completed. */
  readonly expect?: { readonly status: 'completed' } | { readonly status: 'failed'; readonly reason: string };
}

const TARGET_ROUND = 2;

async function storedContributions(fed: Federation, round: number, site?: string): Promise<number> {
  const [row] = await fed.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM contributions WHERE job_id = $1 AND round = $2 AND ($3::text IS NULL OR site_id = $3)', [fed.jobId, round, site ?? null]);
  return row!.n;
}

async function roundStatus(fed: Federation, round: number): Promise<string> {
  const [row] = await fed.query<{ status: string }>('SELECT status FROM rounds WHERE job_id = $1 AND round = $2', [fed.jobId, round]);
  return row?.status ?? '(no row)';
}

/** kill -9 of the coordinator right after `line`, then a restart with the same arguments. */
async function killAndRestart(ctx: FaultContext, line: LogLine, what: string): Promise<void> {
  const { fed } = ctx;
  const exit = await fed.killCoordinator();
  ctx.phase(line, `${what}; kill -9 of ${fed.replicas[fed.leader]!.name} (pid ${exit.pid})`);
  ctx.note(`round ${TARGET_ROUND}: ${await storedContributions(fed, TARGET_ROUND)} contribution(s) stored, round ${await roundStatus(fed, TARGET_ROUND)} at the kill`);
  const started = Date.now();
  await fed.restartCoordinator();
  ctx.note(`restarted, listening again after ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const run = promisify(execFile);

/** Fills a file system: writes `file` until ENOSPC, with ever smaller writes; returns the bytes written. */
async function fillUp(file: string): Promise<number> {
  const handle = await open(file, 'w');
  let written = 0;
  try {
    for (const size of [1 << 16, 1 << 12, 1 << 9, 1]) {
      const chunk = Buffer.alloc(size, 0x5a);
      for (;;) {
        try {
          const { bytesWritten } = await handle.write(chunk);
          written += bytesWritten;
          if (bytesWritten < size) break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
    await handle.sync().catch(() => {});
  } finally {
    await handle.close().catch(() => {});
  }
  return written;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    id: 'baseline',
    fault: 'none (baseline)',
  },
  {
    id: 'coordinator-open',
    fault: 'kill -9 coordinator: round open',
    inject: async (ctx) => {
      const line = await ctx.fed.coordinatorLog('round opened', { job: ctx.fed.jobId, round: TARGET_ROUND, kind: 'train' }, { signal: ctx.signal });
      await killAndRestart(ctx, line, 'round open');
    },
  },
  {
    id: 'coordinator-k-of-n',
    fault: 'kill -9 coordinator: after 2 of 3 uploads',
    inject: async (ctx) => {
      const line = await ctx.fed.coordinatorLog('update accepted', { job: ctx.fed.jobId, round: TARGET_ROUND, received: 2 }, { signal: ctx.signal });
      await killAndRestart(ctx, line, '2 uploads accepted');
    },
  },
  {
    id: 'coordinator-after-eval',
    fault: 'kill -9 coordinator: after evaluation reports',
    inject: async (ctx) => {
      // Every site evaluates the round's incoming model before it trains: all three reports in.
      const lines = [];
      for (const s of ctx.fed.sites) {
        lines.push(await ctx.fed.coordinatorLog('metrics accepted', { job: ctx.fed.jobId, round: TARGET_ROUND, site: s.id, phase: 'eval' }, { signal: ctx.signal }));
      }
      const last = lines.reduce((a, b) => (b.index > a.index ? b : a));
      await killAndRestart(ctx, last, `all ${lines.length} evaluation reports accepted`);
    },
  },
  {
    id: 'coordinator-aggregating',
    fault: 'kill -9 coordinator: during aggregation',
    inject: async (ctx) => {
      const { fed } = ctx;
      // The kill must land before the round closes; the database says whether it did. Rounds 1..3 are tries.
      for (let round = 1; round <= 3; round++) {
        const line = await fed.coordinatorLog('round aggregating', { job: fed.jobId, round }, { signal: ctx.signal });
        const exit = await fed.killCoordinator();
        const status = await roundStatus(fed, round);
        if (status !== 'closed') {
          ctx.phase(line, `kill -9 (pid ${exit.pid}) landed with round ${round} still '${status}'`);
          await fed.restartCoordinator();
          return;
        }
        ctx.note(`round ${round}: closed before the kill took effect; trying the next round`);
        await fed.restartCoordinator();
      }
      throw new Error('no kill landed inside an aggregation: each round had closed before the kill took effect');
    },
  },
  {
    id: 'coordinator-publishing',
    fault: 'kill -9 coordinator: during publishing',
    inject: async (ctx) => {
      const { fed } = ctx;
      // The kill must land before the manifests are in the transparency log (leaf_index still NULL).
      for (let round = 1; round <= 3; round++) {
        const aggregating = await fed.coordinatorLog('round aggregating', { job: fed.jobId, round }, { signal: ctx.signal });
        const line = await fed.coordinator().waitFor(
          (l) => l.index > aggregating.index && l.json?.msg === 'publishing manifests' && Number(l.json.count) > 0,
          { what: `'publishing manifests' {count > 0} after round ${round} aggregated`, timeoutMs: 120_000, signal: ctx.signal });
        const exit = await fed.killCoordinator();
        const [pending] = await fed.query<{ n: number }>('SELECT count(*)::int AS n FROM model_manifests WHERE job_id = $1 AND leaf_index IS NULL', [fed.jobId]);
        if (pending!.n > 0) {
          ctx.phase(line, `kill -9 (pid ${exit.pid}) landed with ${pending!.n} manifest(s) of round ${round} not yet in the log`);
          await fed.restartCoordinator();
          return;
        }
        ctx.note(`round ${round}: manifests were in the log before the kill took effect; trying the next round`);
        await fed.restartCoordinator();
      }
      throw new Error('no kill landed inside publishing: every manifest was in the log before the kill took effect');
    },
  },
  {
    id: 'agent-mid-upload',
    fault: 'kill -9 agent (site-b) mid-upload',
    inject: async (ctx) => {
      const { fed } = ctx;
      const site = 'site-b';
      const agent = fed.agent(site);
      await fed.agentLog(site, 'update submitted', { job: fed.jobId, round: TARGET_ROUND - 1 }, { signal: ctx.signal });
      // From now on the site's uplink runs at 6 KB/s: its next update (tens of KB) takes seconds to leave.
      agent.proxy!.throttle(6 * 1024, 'up');
      const started = await fed.agentLog(site, 'upload started', { job: fed.jobId, round: TARGET_ROUND }, { signal: ctx.signal });
      const base = agent.proxy!.stats.bytesUp;
      const bytes = Number(started.json!.bytes);
      await until(() => agent.proxy!.stats.bytesUp - base >= bytes / 3, `a third of the ${bytes}-byte upload through the link`, { timeoutMs: 60_000, signal: ctx.signal });
      const through = agent.proxy!.stats.bytesUp - base;
      // The host dies: its process and its link at once. (Killing the process alone would leave the rest
      // of the update in the socket buffers, and the link would still deliver it.)
      agent.proxy!.pause();
      const exit = await agent.process!.kill9();
      agent.proxy!.throttle(null);
      agent.proxy!.resume();
      // Mid-upload for the coordinator too: nothing of this site stored for the round.
      const stored = await storedContributions(fed, TARGET_ROUND, site);
      if (stored > 0) throw new Error(`the upload of ${site} had completed before the kill (${stored} contribution stored)`);
      ctx.phase(started, `${through} of ${bytes} bytes through the link; link cut and kill -9 of agent ${site} (pid ${exit.pid}); nothing stored`);
      const from = agent.process!.lines.length;
      agent.process!.restart();
      const resumed = await fed.agentLog(site, 'task resumed from journal', {}, { signal: ctx.signal, from })
        .then((l) => `restarted; ${describeLine(l)}`, () => 'restarted; no \'task resumed from journal\' line before the job ended');
      ctx.note(resumed);
    },
  },
  {
    id: 'database-outage',
    fault: 'PostgreSQL unavailable 20 s mid-round',
    federation: { databaseProxy: true },
    inject: async (ctx) => {
      const { fed } = ctx;
      const line = await fed.coordinatorLog('update accepted', { job: fed.jobId, round: TARGET_ROUND, received: 1 }, { signal: ctx.signal });
      const from = fed.coordinator().lines.length;
      fed.dbProxy!.pause();
      const cutAt = Date.now();
      ctx.phase(line, 'every PostgreSQL connection of the coordinator dropped, new ones refused, for 20 s');
      const down = await fed.coordinatorLog('database unavailable', {}, { signal: ctx.signal, from, timeoutMs: 60_000 });
      ctx.note(`'database unavailable' after ${((down.at - cutAt) / 1000).toFixed(1)} s`);
      const ready = await fed.readyz();
      if (ready !== 503) ctx.problem(`GET /readyz answered ${ready} while the database was unreachable (expected 503)`);
      await sleep(Math.max(0, 20_000 - (Date.now() - cutAt)), undefined, { signal: ctx.signal });
      fed.dbProxy!.resume();
      const up = await fed.coordinatorLog('database available again', {}, { signal: ctx.signal, from, timeoutMs: 60_000 });
      const stats = fed.dbProxy!.stats;
      ctx.note(`link back after 20 s; 'database available again' ${((up.at - cutAt) / 1000 - 20).toFixed(1)} s later; ${stats.dropped} connection(s) dropped, ${stats.refused} refused`);
    },
  },
  {
    id: 'leader-failover',
    fault: 'kill -9 leader coordinator, standby running',
    federation: {
      replicas: 2,
      coordinatorConfig: (i, fed) => ({ ha: { leaseSeconds: 5, advertise: { grpc: fed.replicas[i]!.grpc, rest: fed.replicas[i]!.rest } } }),
    },
    inject: async (ctx) => {
      const { fed } = ctx;
      const standby = fed.replicas[1]!;
      const readyBefore = await fed.readyz(1);
      if (readyBefore !== 503) ctx.problem(`the standby's GET /readyz answered ${readyBefore} before the failover (expected 503)`);
      const line = await fed.coordinatorLog('update accepted', { job: fed.jobId, round: TARGET_ROUND, received: 1 }, { signal: ctx.signal, replica: 0 });
      const from = standby.process!.lines.length;
      const exit = await fed.killCoordinator(0);
      const killedAt = Date.now();
      ctx.phase(line, `kill -9 of the leader ${fed.replicas[0]!.name} (pid ${exit.pid}); ${standby.name} standing by`);
      const listening = await standby.process!.waitFor((l) => l.source === 'stdout' && l.json?.event === 'listening',
        { what: `${standby.name} taking over ({"event":"listening"})`, timeoutMs: 90_000, from, signal: ctx.signal });
      standby.adminKeyFile = String(listening.json!.adminTokenFile);
      fed.leader = 1;
      const lease = standby.process!.matching((l) => l.json?.msg === 'leader lease acquired').at(-1);
      ctx.note(`${standby.name} listening ${((listening.at - killedAt) / 1000).toFixed(1)} s after the kill${lease ? ` (${describeLine(lease)})` : ''}`);
    },
  },
  {
    id: 'corrupted-contribution',
    fault: 'corrupted stored contribution',
    federation: { coordinatorConfig: () => ({ blobs: { store: 'postgres' } }) },
    inject: async (ctx) => {
      const { fed } = ctx;
      const slow = 'site-c';
      // site-c's round-2 upload crawls (2 KB/s uplink), so the round waits while a stored upload is damaged.
      await fed.agentLog(slow, 'update submitted', { job: fed.jobId, round: TARGET_ROUND - 1 }, { signal: ctx.signal });
      fed.agent(slow).proxy!.throttle(2 * 1024, 'up');
      const line = await fed.coordinatorLog('update accepted', { job: fed.jobId, round: TARGET_ROUND },
        { signal: ctx.signal, predicate: (l) => l.json?.site !== slow, what: `'update accepted' {round: ${TARGET_ROUND}} of a site other than ${slow}` });
      const victim = String(line.json!.site);
      const corrupted = await fed.query<{ key: string; seq: number }>(
        `UPDATE blob_chunks SET data = set_byte(data, 64, get_byte(data, 64) # 255)
          WHERE key = (SELECT blob_key FROM contributions WHERE job_id = $1 AND round = $2 AND site_id = $3)
            AND seq = (SELECT min(seq) FROM blob_chunks WHERE key = (SELECT blob_key FROM contributions WHERE job_id = $1 AND round = $2 AND site_id = $3))
          RETURNING key, seq`, [fed.jobId, TARGET_ROUND, victim]);
      const status = await roundStatus(fed, TARGET_ROUND);
      fed.agent(slow).proxy!.throttle(null);
      if (corrupted.length !== 1) throw new Error(`no stored chunk of ${victim}'s round-${TARGET_ROUND} contribution to corrupt (${corrupted.length} rows)`);
      if (status !== 'open' && status !== 'collecting') throw new Error(`round ${TARGET_ROUND} was already '${status}' when the contribution was corrupted`);
      ctx.phase(line, `byte 64 of ${victim}'s stored chunk flipped (round '${status}', ${slow} still uploading)`);
      ctx.note(`victim: ${victim}`);
    },
    verify: async (ctx) => {
      const events = await ctx.fed.query<{ action: string; event: string }>(
        `SELECT action, event FROM audit_events WHERE job = $1 AND event ILIKE '%corrupt%' ORDER BY seq`, [ctx.fed.jobId]);
      ctx.note(`audit: ${events.map((e) => e.action).join(', ') || 'no event mentions the corruption'}`);
      return events.length > 0 ? [] : ['no audit event records the corrupted contribution'];
    },
  },
  {
    id: 'blob-store-full',
    fault: 'blob store full (tmpfs, ENOSPC)',
    federation: {
      coordinatorConfig: (_i, fed) => ({ blobs: { store: 'file', dir: join(fed.dir, 'blob-store') } }),
      prepare: async (fed) => {
        const dir = join(fed.dir, 'blob-store');
        await mkdir(dir, { recursive: true });
        try {
          await run('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', dir]);
        } catch (err) {
          throw new Error(`cannot mount a 4 MiB tmpfs at ${dir} (this scenario needs root or CAP_SYS_ADMIN): ${(err as Error).message.trim()}`);
        }
        fed.cleanups.push(async () => { await run('umount', [dir]); });
      },
    },
    inject: async (ctx) => {
      const { fed } = ctx;
      const filler = join(fed.dir, 'blob-store', 'filler');
      const line = await fed.coordinatorLog('round opened', { job: fed.jobId, round: TARGET_ROUND, kind: 'train' }, { signal: ctx.signal });
      const from = fed.coordinator().lines.length;
      const bytes = await fillUp(filler);
      ctx.phase(line, `blob store filled up (${(bytes / 1024).toFixed(0)} KiB filler) before any round-${TARGET_ROUND} upload`);
      const full = await fed.coordinatorLog('payload storage full', {}, { signal: ctx.signal, from, timeoutMs: 120_000 });
      await rm(filler, { force: true });
      ctx.note(`'payload storage full' seen; filler removed ${((Date.now() - full.at) / 1000).toFixed(1)} s later`);
    },
  },
];
