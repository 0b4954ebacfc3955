import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { MedfedError } from '@medfed/proto';
import { FileBlobStore } from './blobs/file-blob-store.js';
import type { BlobStore } from './blobs/blob-store.js';
import type { CoordinatorConfig } from './config/schema.js';
import { FederationEngine } from './federation/engine.js';
import { openDatabase } from './storage/open.js';
import type { Db } from './storage/db.js';
import { startGrpcServer } from './transport/grpc/server.js';
import { buildRestApp } from './transport/rest/app.js';

export interface RunningCoordinator {
  readonly rest: string;
  readonly grpc: string;
  readonly engine: FederationEngine;
  readonly db: Db;
  readonly blobs: BlobStore;
  readonly adminToken: string;
  readonly adminTokenFile: string;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || (isIP(host) === 4 && host.startsWith('127.'));
}

/** The bootstrap admin credential: written once, mode 0600, next to the coordinator's data. */
async function adminToken(dataDir: string): Promise<{ token: string; file: string }> {
  const file = join(dataDir, 'admin-token');
  try {
    const s = await stat(file);
    if ((s.mode & 0o077) !== 0) {
      throw new MedfedError('CONFIG_INVALID', `${file} is readable by group or others (mode ${(s.mode & 0o777).toString(8)}); run chmod 600 on it`);
    }
    return { token: (await readFile(file, 'utf8')).trim(), file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = `mfa_${randomBytes(32).toString('base64url')}`;
  await writeFile(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return { token, file };
}

/** Opens storage, applies migrations, binds REST and gRPC; resolves once both ports listen. */
export async function startCoordinator(config: CoordinatorConfig, log: Logger = pino({ level: config.logLevel }, pino.destination(2))): Promise<RunningCoordinator> {
  for (const [name, host] of [['rest.host', config.rest.host], ['grpc.host', config.grpc.host]] as const) {
    if (!isLoopback(host)) {
      throw new MedfedError('CONFIG_INVALID',
        `${name} ${host} is not a loopback address; medfed refuses to listen beyond this host without TLS (not configured)`);
    }
  }
  const dataDir = resolve(config.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.databaseUrl || config.inMemoryDatabase ? undefined : join(dataDir, 'db'),
  });
  const blobs = new FileBlobStore(join(dataDir, 'blobs'));
  const engine = new FederationEngine(db, blobs, { maxUpdateBytes: config.maxUpdateBytes });
  engine.events.on('error', (err) => log.error({ err }, 'round progression failed'));
  engine.events.on('timing', (t: Record<string, unknown>) => log.info({ timing: t }, `${String(t.phase)} timing`));
  const { token, file } = await adminToken(dataDir);
  const rest = buildRestApp({ engine, db, log, adminToken: token, bodyLimit: config.bodyLimitBytes });
  const grpc = await startGrpcServer(engine, log, { host: config.grpc.host, port: config.grpc.port });
  let restUrl: string;
  try {
    restUrl = await rest.listen({ host: config.rest.host, port: config.rest.port });
  } catch (err) {
    grpc.server.forceShutdown();
    await db.close();
    throw err;
  }
  await engine.tick(); // resume rounds that were aggregating when the process last stopped
  const ticker = setInterval(() => void engine.tick(), config.tickSeconds * 1000);
  ticker.unref();
  log.info({ rest: restUrl, grpc: grpc.address, database: db.kind }, 'coordinator listening');
  return {
    rest: restUrl,
    grpc: grpc.address,
    engine, db, blobs,
    adminToken: token,
    adminTokenFile: file,
    async close() {
      clearInterval(ticker);
      grpc.health.setStatus('', 'NOT_SERVING');
      await new Promise<void>((r) => grpc.server.tryShutdown(() => r()));
      await rest.close();
      await db.close();
    },
  };
}
