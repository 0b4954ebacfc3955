import { join, resolve } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { CoordinatorConfig } from '../config/schema.js';
import { loadTlsMaterial } from '../keys/tls-files.js';
import { openDatabase } from '../storage/open.js';
import { isDatabaseUnavailable } from '../storage/errors.js';
import { advertisedAddress, startCoordinator, type CoordinatorHooks, type RunningCoordinator } from '../server.js';
import { LeaderLease } from './leader-lease.js';
import { startStandbyServers, type StandbyServers } from './standby.js';

export interface ReplicaEvents {
  /** This replica stands by (it serves only health and NOT_LEADER refusals). */
  onStandby?(info: { rest: string; grpc: string; leader: string | null }): void;
  /** This replica took the lease and serves. */
  onLeading?(running: RunningCoordinator): void;
}

export interface Replica {
  /** Stops whatever this replica runs; a leader gives its lease up so a standby takes over at once. */
  close(): Promise<void>;
}

/**
 * One coordinator replica: any number may point at one PostgreSQL database. Each campaigns for the
 * leader lease; the holder runs the full coordinator, the others stand by on the same ports
 * (health NOT_SERVING, every call a retryable NOT_LEADER naming the leader) and take over within
 * about one lease length when the leader stops renewing. A leader that loses its lease (a standby
 * took over while this one could not reach the database) is fenced at once and steps back to standby.
 */
export async function runReplica(config: CoordinatorConfig, log: Logger, events: ReplicaEvents = {}, hooks: CoordinatorHooks = {}): Promise<Replica> {
  const dataDir = resolve(config.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.databaseUrl || config.inMemoryDatabase ? undefined : join(dataDir, 'db'),
  });
  const tls = config.tls ? await loadTlsMaterial(config.tls) : null;
  const lease = new LeaderLease(db, { leaseSeconds: config.ha.leaseSeconds });
  const address = advertisedAddress(config);
  let closing = false;
  let standby: StandbyServers | null = null;
  let running: RunningCoordinator | null = null;
  let deposed: (() => void) | null = null;
  const pollMs = Math.min(1_000, (config.ha.leaseSeconds * 1000) / 4);

  const stand = async () => {
    const state = await lease.state().catch(() => null);
    const leader = state?.live ? state.leader : { grpc: null, rest: null };
    if (!standby) {
      standby = await startStandbyServers({
        restHost: config.rest.host, restPort: config.rest.port, grpcHost: config.grpc.host, grpcPort: config.grpc.port, tls, leader,
      });
      log.info({ leader: leader.grpc, holder: state?.holder ?? null }, 'standing by');
      events.onStandby?.({ rest: standby.rest, grpc: standby.grpc, leader: leader.grpc });
    } else {
      standby.setLeader(leader);
    }
  };

  const lead = async () => {
    if (standby) {
      await standby.close();
      standby = null;
    }
    log.info({ epoch: lease.epoch }, 'leader lease acquired');
    const lost = new Promise<void>((r) => { deposed = r; });
    running = await startCoordinator(config, log, { ...hooks, database: db, lease, onLeaseLost: () => deposed?.() });
    events.onLeading?.(running);
    await lost;
    const stopping = running;
    running = null;
    if (!closing) log.warn('stepping down: closing the coordinator and standing by');
    await stopping.close().catch((err: unknown) => log.error({ err }, 'closing the deposed coordinator failed'));
  };

  const loop = (async () => {
    while (!closing) {
      try {
        if (await lease.tryAcquire(address)) {
          await lead();
          continue;
        }
        await stand();
      } catch (err) {
        if (!isDatabaseUnavailable(err)) log.error({ err }, 'replica loop failed; retrying');
        await lease.release().catch(() => {});
      }
      await sleep(pollMs);
    }
  })();

  return {
    async close() {
      closing = true;
      deposed?.();
      await loop;
      const s = standby as StandbyServers | null;
      await s?.close();
      await lease.release().catch(() => {});
      await db.close();
    },
  };
}
