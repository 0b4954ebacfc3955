import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { FederationService } from '@medfed/proto';
import type { Logger } from 'pino';
import type { FederationEngine } from '../../federation/engine.js';
import { federationService, type IdentityHandlers, type ReleaseHandlers } from './federation-service.js';
import { protocolVersionInterceptor } from './protocol-version-interceptor.js';
import type { SiteVersions } from '../../federation/site-versions.js';

export interface GrpcListening {
  readonly server: grpc.Server;
  readonly address: string;
  readonly health: HealthImplementation;
  /** Every method path this server serves (all services), e.g. for checking each against the policy. */
  readonly methods: readonly string[];
}

export interface GrpcServerOptions {
  readonly host: string;
  readonly port: number;
  readonly credentials?: grpc.ServerCredentials;
  /** Applied to every call of every service (authentication and authorization), before version negotiation. */
  readonly interceptors?: grpc.ServerInterceptor[];
  /** Where each site's announced protocol and agent version is recorded (absent: checked, not recorded). */
  readonly versions?: Pick<SiteVersions, 'record'>;
  readonly identity: IdentityHandlers;
  /** The release workflow's steps (SubmitRelease and release tasks in PollTask). */
  readonly releases?: ReleaseHandlers;
  /** Refuses to start when a served method is not covered (returns the uncovered paths' problem). */
  readonly checkMethods?: (paths: readonly string[]) => void;
}

/**
 * Serves medfed.v1.Federation and the standard grpc.health.v1.Health on one port. Every call but
 * health checks negotiates the protocol version (protocol-version-interceptor.ts), after `interceptors`.
 */
export async function startGrpcServer(engine: FederationEngine, log: Logger, options: GrpcServerOptions): Promise<GrpcListening> {
  const versions = options.versions;
  const negotiation = protocolVersionInterceptor({
    log, ...(versions ? { onServed: (site, announced) => void versions.record(site, announced) } : {}),
  });
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 4 * 1024 * 1024,
    'grpc.keepalive_time_ms': 30_000,
    interceptors: [...(options.interceptors ?? []), negotiation],
  });
  const methods: string[] = [];
  const addService = server.addService.bind(server);
  // Record what is registered, so that no method escapes the policy check below.
  server.addService = (service, implementation) => {
    for (const def of Object.values(service)) methods.push(def.path);
    addService(service, implementation);
  };
  server.addService(FederationService, federationService(engine, log, options.identity, options.releases));
  const health = new HealthImplementation({ '': 'SERVING', 'medfed.v1.Federation': 'SERVING' });
  health.addToServer(server);
  options.checkMethods?.(methods);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${options.host}:${options.port}`, options.credentials ?? grpc.ServerCredentials.createInsecure(),
      (err, p) => (err ? reject(err) : resolve(p)));
  });
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return { server, address: `${host}:${port}`, health, methods };
}
