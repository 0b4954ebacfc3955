import { mkdir } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import pino, { type Logger } from 'pino';
import { MedfedError } from '@medfed/proto';
import { AdminTokenSource } from './auth/admin-token-source.js';
import { SelfOrigins } from './auth/self-origins.js';
import { AuthService } from './auth/auth-service.js';
import { ensureBootstrapAdminKey } from './auth/bootstrap-admin.js';
import { OPEN_OPERATION, type OnDecision } from './auth/decision.js';
import { decisionToAuditEvent, recordsOpenOperation } from './auth/decision-to-audit.js';
import { authHandlers } from './auth/grpc/auth-handlers.js';
import { authInterceptor } from './auth/grpc/interceptor.js';
import { AuditWriter } from './audit/writer.js';
import { RequestEvents } from './audit/request-events.js';
import { AuditAnchorer } from './audit/anchorer.js';
import { applyRosterFile } from './governance/roster-file.js';
import { startPublishing } from './publishing/start-publishing.js';
import type { ModelPublisher } from './publishing/publisher.js';
import type { AuditRecorder } from './federation/audit-recorder.js';
import { FileBlobStore } from './blobs/file-blob-store.js';
import { openBlobStore } from './blobs/open.js';
import type { BlobStore } from './blobs/blob-store.js';
import type { CoordinatorConfig } from './config/schema.js';
import { FederationEngine } from './federation/engine.js';
import { SiteVersions } from './federation/site-versions.js';
import { ReleaseService } from './releases/release-service.js';
import { SqlNonceStore } from './attestation/index.js';
import { FileSigningKeyStore } from './keys/file-signing-key-store.js';
import { TokenKeyRing } from './keys/key-ring.js';
import type { SigningKeyStore } from './keys/signing-key.js';
import { loadTlsMaterial, type TlsMaterial } from './keys/tls-files.js';
import { CertificateExpiry, servedCertificates } from './keys/expiry.js';
import { openDatabase } from './storage/open.js';
import type { Db } from './storage/db.js';
import { DatabaseHealth } from './storage/database-health.js';
import { StorageError } from './storage/errors.js';
import { LeaderLease } from './ha/leader-lease.js';
import { fencedDb } from './ha/fenced-db.js';
import { keyFiles } from './ha/key-files.js';
import { startRoundLoop } from './federation/round-loop.js';
import { startGrpcServer } from './transport/grpc/server.js';
import { buildRestApp } from './transport/rest/app.js';
import { metricsFor } from './transport/rest/metrics.js';

export interface RunningCoordinator {
  readonly rest: string;
  readonly grpc: string;
  readonly engine: FederationEngine;
  readonly db: Db;
  readonly blobs: BlobStore;
  /** Whether the database answers (readiness and gRPC health follow it). */
  readonly databaseHealth: DatabaseHealth;
  /** The leader lease this coordinator holds (its epoch fences every write). */
  readonly lease: LeaderLease;
  readonly auth: AuthService;
  /** Manifests, the transparency log and its keys (what sites pin: publisher.jwks(), publisher.checkpointKey). */
  readonly publisher: ModelPublisher;
  /** Anchors the audit chain head in the transparency log. */
  readonly anchorer: AuditAnchorer;
  /** A current admin access token (Bearer), renewed in the background: for in-process callers. */
  readonly adminToken: string;
  /** The bootstrap admin API key (null when it was revoked); exchange it at POST /v1/auth/token. */
  readonly adminKey: string | null;
  /** The 0600 file holding the bootstrap admin API key. */
  readonly adminKeyFile: string;
  /** Same as adminKeyFile (the name the CLI prints). */
  readonly adminTokenFile: string;
  /** Every REST route and gRPC method served, as registered. */
  readonly served: { readonly rest: readonly { method: string; url: string }[]; readonly grpc: readonly string[] };
  close(): Promise<void>;
}

export interface CoordinatorHooks {
  /** Receives every authorization decision (in addition to the audit trail). */
  readonly onDecision?: OnDecision;
  /** Where token signing keys live (default: files under `<dataDir>/keys/token-signing`). */
  readonly signingKeys?: SigningKeyStore;
  /**
   * A database already opened and migrated, and the leader lease this replica holds on it (the
   * replica loop, ha/replica.ts). Without them the coordinator opens its own and takes the lease,
   * refusing to start (NOT_LEADER) while another live coordinator leads the same database.
   */
  readonly database?: Db;
  readonly lease?: LeaderLease;
  /** Called when another replica took the lease: writes are already fenced off; the caller closes this coordinator. */
  readonly onLeaseLost?: () => void;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Where this replica is reached when it leads (what standbys name in their hint). */
export function advertisedAddress(config: CoordinatorConfig): { grpc: string; rest: string } {
  const scheme = config.tls ? 'https' : 'http';
  const host = (h: string) => (h.includes(':') ? `[${h}]` : h);
  return {
    grpc: config.ha.advertise.grpc ?? `${host(config.grpc.host)}:${config.grpc.port}`,
    rest: config.ha.advertise.rest ?? `${scheme}://${host(config.rest.host)}:${config.rest.port}`,
  };
}

function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || (isIP(host) === 4 && host.startsWith('127.'));
}

/** TLS outside development and beyond loopback; the anonymous-node development mode only on loopback in development. */
function checkTransportSecurity(config: CoordinatorConfig): void {
  const hosts = [['rest.host', config.rest.host], ['grpc.host', config.grpc.host]] as const;
  for (const [name, host] of hosts) {
    if (!config.tls && !isLoopback(host)) {
      throw new MedfedError('CONFIG_INVALID',
        `${name} ${host} is not a loopback address; medfed refuses to listen beyond this host without TLS (set tls.cert and tls.key)`);
    }
  }
  if (config.env !== 'development') {
    // DPoP proofs name the server they are for; production compares them with the origins people and
    // agents use, never with request headers, so those origins must be stated.
    const missing = [
      ...(config.auth.restOrigins.length === 0 ? ['auth.restOrigins (e.g. ["https://coordinator.example.org:8443"])'] : []),
      ...(config.auth.grpcAuthorities.length === 0 ? ['auth.grpcAuthorities (e.g. ["coordinator.example.org:9443"])'] : []),
    ];
    if (missing.length > 0) {
      throw new MedfedError('CONFIG_INVALID', `env ${config.env} needs this coordinator's public origins: set ${missing.join(' and ')}, as agents and people reach it`);
    }
  }
  if (!config.tls && config.env !== 'development') {
    throw new MedfedError('CONFIG_INVALID', `env ${config.env} requires TLS: set tls.cert and tls.key (medfed dev-ca makes a local CA for trials)`);
  }
  if (config.auth.allowAnonymousNodes && (config.env !== 'development' || hosts.some(([, h]) => !isLoopback(h)))) {
    throw new MedfedError('CONFIG_INVALID', 'auth.allowAnonymousNodes is a development aid: only with env development on loopback addresses');
  }
}

/** Opens storage, applies migrations, binds REST and gRPC; resolves once both ports listen. */
export async function startCoordinator(config: CoordinatorConfig, log: Logger = pino({ level: config.logLevel }, pino.destination(2)), hooks: CoordinatorHooks = {}): Promise<RunningCoordinator> {
  checkTransportSecurity(config);
  const tls: TlsMaterial | null = config.tls ? await loadTlsMaterial(config.tls) : null;
  const dataDir = resolve(config.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const rawDb = hooks.database ?? await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.databaseUrl || config.inMemoryDatabase ? undefined : join(dataDir, 'db'),
  });
  const closers: (() => Promise<void> | void)[] = hooks.database ? [] : [() => rawDb.close()];
  const closeAll = async () => {
    for (const c of closers.reverse()) await c();
  };
  try {
    // One leader per database: its lease epoch fences every write (ha/fenced-db.ts).
    const lease = hooks.lease ?? new LeaderLease(rawDb, { leaseSeconds: config.ha.leaseSeconds });
    if (!hooks.lease && !(await lease.tryAcquire(advertisedAddress(config)))) {
      const held = await lease.state();
      throw new StorageError('NOT_LEADER', `another coordinator (${held.holder ?? 'unknown'}) leads this database; `
        + 'start this one with `medfed coordinator start` to stand by as a replica, or stop the other first');
    }
    if (!hooks.lease) closers.push(() => lease.release().catch(() => {}));
    const db = fencedDb(rawDb, () => ({ epoch: lease.epoch, holder: lease.holder }));
    // The key set every replica shares: what the first leader created, before anything loads keys.
    await keyFiles.pull(rawDb, dataDir);
    const databaseHealth = new DatabaseHealth(rawDb);
    const audit = new AuditWriter(db);
    closers.push(() => audit.close());
    // One event per request: the action's own event carries the request id and the deciding rule.
    const requestEvents = new RequestEvents(db, audit);
    const recorder: AuditRecorder = requestEvents.recorder();
    // The consortium's rule from the configuration: a file that does not verify stops the start here.
    if (config.governance.rosterFile !== undefined) await applyRosterFile(db, resolve(config.governance.rosterFile), log);
    // Payloads in PostgreSQL when the coordinator runs on it (replicas share them), files otherwise.
    const blobs = openBlobStore({ db, dataDir, store: config.blobs.store, dir: config.blobs.dir });
    if (blobs instanceof FileBlobStore) {
      const removed = await blobs.cleanTemporaryFiles();
      if (removed > 0) log.info({ removed }, 'removed temporary payload files left by an interrupted write');
    }
    const publisher = await startPublishing(db, blobs, dataDir);
    const engine = new FederationEngine(db, blobs, {
      maxUpdateBytes: config.maxUpdateBytes, audit: recorder, env: config.env, nonces: new SqlNonceStore(db), publisher,
      aggregationBoundSeconds: config.aggregationBoundSeconds,
    });
    const releases = new ReleaseService({ db, blobs, engine, audit: recorder, env: config.env, stepTimeoutSeconds: config.releases.stepTimeoutSeconds });
    // Manifests are logged once the transaction that stored their artifact has committed.
    publisher.onPublishing = (count) => log.info({ count }, 'publishing manifests');
    engine.events.on('changed', () => {
      publisher.flushPending().catch((err: unknown) => {
        databaseHealth.observe(err);
        log.warn({ err }, 'manifests not yet appended to the transparency log');
      });
    });
    engine.events.on('lifecycle', (message: string, fields: Record<string, unknown>) => log.info(fields, message));
    const anchorer = new AuditAnchorer({ db, appendLeaf: (leaf) => publisher.tlog.appendLeaf(leaf), onError: (err) => log.warn({ err }, 'audit chain head not anchored') });
    anchorer.start();
    closers.push(() => anchorer.stop());
    engine.events.on('problem', (err: unknown) => {
      if ((err as { code?: string }).code === 'STORAGE_FULL') log.error({ err }, 'payload storage full');
      else log.error({ err }, 'round progression failed');
    });
    engine.events.on('timing', (t: Record<string, unknown>) => log.info({ timing: t }, `${String(t.phase)} timing`));

    const ring = await TokenKeyRing.open(hooks.signingKeys ?? new FileSigningKeyStore(join(dataDir, 'keys', 'token-signing')), {
      maxTokenSeconds: Math.max(config.auth.nodeTokenSeconds, config.auth.personTokenSeconds),
      skewSeconds: config.auth.clockSkewSeconds,
      rotateAfterSeconds: config.auth.signingKeyRotationDays * 86_400,
    });
    const metrics = metricsFor(engine, db);
    // Expiring certificates: a warning at start and daily, a gauge on /metrics, GET /v1/trust/expiry.
    const certificateExpiry = new CertificateExpiry(servedCertificates(tls), { log });
    certificateExpiry.register(metrics.registry);
    certificateExpiry.start();
    closers.push(() => certificateExpiry.stop());
    const onDecision: OnDecision = (decision) => {
      hooks.onDecision?.(decision);
      metrics.observeDecision(decision);
      // The audit trail keeps every deny and every allow on a protected operation, and every request
      // for a credential; other allows of open operations (health probes, the key set) would only bury the rest.
      if (decision.effect === 'allow' && decision.reason === OPEN_OPERATION && !recordsOpenOperation(decision.rule)) return;
      if (requestEvents.claimDecision(decision.requestId, decision.effect, decisionToAuditEvent(decision))) return;
      audit.append(decisionToAuditEvent(decision)).catch((err: unknown) => log.warn({ err, rule: decision.rule }, 'authorization decision not recorded in the audit trail'));
    };
    const selfOrigins = new SelfOrigins();
    const auth = new AuthService({ db, ring, settings: { ...config.auth, selfOrigins }, log, onDecision });
    auth.startMaintenance();
    closers.push(() => auth.stop());
    const bootstrap = await ensureBootstrapAdminKey(auth.context, dataDir, log);
    const adminTokens = await AdminTokenSource.start(auth, bootstrap.key, log);
    closers.push(() => adminTokens.stop());

    const rest = buildRestApp({
      engine, db, log, auth, bodyLimit: config.bodyLimitBytes, publishing: { publisher, anchorer }, requestEvents, releases,
      auditRetentionDays: config.audit.retentionDays,
      certificateExpiry,
      readiness: () => (databaseHealth.state === 'available'
        ? { ready: true } : { ready: false, reason: `the database is unreachable since ${databaseHealth.since.toISOString()}` }),
      https: tls ? { key: tls.key, cert: tls.cert, ...(tls.ca ? { ca: tls.ca } : {}), requestCert: tls.requireClientCert } : undefined,
    });
    const grpcServer = await startGrpcServer(engine, log, {
      host: config.grpc.host, port: config.grpc.port,
      credentials: tls
        ? grpc.ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], tls.requireClientCert)
        : grpc.ServerCredentials.createInsecure(),
      interceptors: [authInterceptor(auth, requestEvents)],
      versions: new SiteVersions(db, log),
      identity: authHandlers(auth, log),
      releases: { db, admit: (s) => releases.admit(s), submit: (s, p) => releases.submit(s, p) },
      checkMethods: (paths) => {
        const missing = paths.filter((p) => !auth.policyEntry('grpc', p));
        if (missing.length > 0) throw new MedfedError('AUTH_NO_POLICY', `gRPC methods without a policy entry: ${missing.join(', ')}`);
      },
    });
    closers.push(() => grpcServer.server.forceShutdown());
    selfOrigins.setGrpc(config.grpc.host, Number(grpcServer.address.slice(grpcServer.address.lastIndexOf(':') + 1)));
    const restUrl = await rest.listen({ host: config.rest.host, port: config.rest.port });
    selfOrigins.setRest(tls ? 'https' : 'http', config.rest.host, Number(new URL(restUrl).port));
    closers.pop(); // the gRPC server is closed gracefully below from now on
    // Keys created by this start (first start of a deployment, rotation) join the shared set.
    await keyFiles.push(db, dataDir);

    // Readiness, gRPC health and the round loop follow the database: one log line per transition.
    const setServing = (serving: boolean) => {
      for (const service of ['', 'medfed.v1.Federation']) grpcServer.health.setStatus(service, serving ? 'SERVING' : 'NOT_SERVING');
    };
    databaseHealth.on('change', (state, info) => {
      setServing(state === 'available');
      if (state === 'unavailable') log.error({ since: info.since, error: info.error }, 'database unavailable');
      else log.info({ since: info.since }, 'database available again');
    });
    databaseHealth.start();
    closers.push(() => databaseHealth.stop());

    // Deadlines, interrupted aggregations (resumed at once) and release step deadlines; backs off while the database is away.
    const loop = startRoundLoop({
      intervalMs: config.tickSeconds * 1000, health: databaseHealth, log,
      work: async () => {
        await engine.tick();
        await releases.expireSteps();
      },
    });
    closers.push(() => loop.stop());

    // The lease: renewed every quarter of its length; lost, this replica stops writing at once (the fence) and steps down.
    let leaseTimer: NodeJS.Timeout | undefined;
    let lastKeyPush = Date.now();
    const renew = async () => {
      try {
        if (!(await lease.renew())) {
          log.error({ epoch: lease.epoch }, 'leader lease lost: another replica leads now; this one stops');
          (hooks.onLeaseLost ?? (() => { setServing(false); }))();
          return;
        }
        if (Date.now() - lastKeyPush > 30_000) {
          lastKeyPush = Date.now();
          await keyFiles.push(db, dataDir);
        }
      } catch (err) {
        databaseHealth.observe(err);
        log.debug({ err }, 'leader lease not renewed (database unavailable); retrying');
      }
      leaseTimer = setTimeout(() => void renew(), (config.ha.leaseSeconds * 1000) / 4);
      leaseTimer.unref();
    };
    leaseTimer = setTimeout(() => void renew(), (config.ha.leaseSeconds * 1000) / 4);
    leaseTimer.unref();
    closers.push(() => clearTimeout(leaseTimer));
    log.info({ rest: restUrl, grpc: grpcServer.address, database: db.kind, tls: tls !== null, epoch: lease.epoch }, 'coordinator listening');
    return {
      rest: restUrl,
      grpc: grpcServer.address,
      engine, db, blobs, auth, publisher, anchorer, databaseHealth, lease,
      get adminToken() { return adminTokens.current(); },
      adminKey: bootstrap.key,
      adminKeyFile: bootstrap.file,
      adminTokenFile: bootstrap.file,
      served: { rest: rest.registeredRoutes(), grpc: grpcServer.methods },
      async close() {
        grpcServer.health.setStatus('', 'NOT_SERVING');
        await new Promise<void>((r) => grpcServer.server.tryShutdown(() => r()));
        await rest.close();
        await closeAll();
      },
    };
  } catch (err) {
    await closeAll().catch(() => {});
    throw err;
  }
}
