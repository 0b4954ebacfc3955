import * as grpc from '@grpc/grpc-js';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { HealthImplementation } from 'grpc-health-check';
import { FederationService } from '@medfed/proto';
import type { TlsMaterial } from '../keys/tls-files.js';
import { STORAGE_ERRORS, StorageError } from '../storage/errors.js';
import { grpcError } from '../transport/grpc/grpc-error.js';
import type { LeaderAddress } from './leader-lease.js';

export interface StandbyServers {
  readonly rest: string;
  readonly grpc: string;
  /** Updates the leader named in every refusal. */
  setLeader(leader: LeaderAddress): void;
  close(): Promise<void>;
}

const MESSAGE = 'this coordinator replica is a standby; it takes over when the leader stops renewing its lease';

/**
 * What a standby replica serves on the leader's ports: liveness (it is up), readiness and gRPC
 * health NOT_SERVING (load balancers route to the leader), and for every other call a retryable
 * NOT_LEADER naming the leader (`medfed-leader` trailer and header) when it is known.
 */
export async function startStandbyServers(options: {
  restHost: string; restPort: number; grpcHost: string; grpcPort: number; tls: TlsMaterial | null; leader: LeaderAddress;
}): Promise<StandbyServers> {
  let leader = options.leader;
  // The coordinator's one gRPC error shape (status from the error table, `medfed-code` trailer), plus the leader hint.
  const refusal = (): grpc.ServiceError => {
    const err = grpcError(new StorageError('NOT_LEADER', `${MESSAGE}${leader.grpc ? ` (leader: ${leader.grpc})` : ''}`));
    if (leader.grpc) err.metadata.set('medfed-leader', leader.grpc);
    return err;
  };
  const server = new grpc.Server();
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const [name, def] of Object.entries(FederationService)) {
    handlers[name] = def.responseStream
      ? (call: grpc.ServerWritableStream<unknown, unknown>) => call.emit('error', refusal())
      : (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(refusal());
  }
  server.addService(FederationService, handlers);
  const health = new HealthImplementation({ '': 'NOT_SERVING', 'medfed.v1.Federation': 'NOT_SERVING' });
  health.addToServer(server);
  const credentials = options.tls
    ? grpc.ServerCredentials.createSsl(options.tls.ca, [{ cert_chain: options.tls.cert, private_key: options.tls.key }], options.tls.requireClientCert)
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${options.grpcHost}:${options.grpcPort}`, credentials, (err, p) => (err ? reject(err) : resolve(p)));
  });

  const restOptions: FastifyServerOptions & { https?: Record<string, unknown> } = {
    ...(options.tls ? { https: { key: options.tls.key, cert: options.tls.cert, ...(options.tls.ca ? { ca: options.tls.ca } : {}) } } : {}),
  };
  const rest = Fastify(restOptions as FastifyServerOptions) as FastifyInstance;
  rest.get('/healthz', async () => ({ status: 'ok', role: 'standby' }));
  rest.setNotFoundHandler((_req, reply) => {
    if (leader.rest) void reply.header('medfed-leader', leader.rest);
    return reply.status(STORAGE_ERRORS.NOT_LEADER.http).send({ code: 'NOT_LEADER', message: MESSAGE, leader: leader.rest });
  });
  let restUrl: string;
  try {
    restUrl = await rest.listen({ host: options.restHost, port: options.restPort });
  } catch (err) {
    server.forceShutdown();
    throw err;
  }
  const host = options.grpcHost.includes(':') ? `[${options.grpcHost}]` : options.grpcHost;
  return {
    rest: restUrl,
    grpc: `${host}:${port}`,
    setLeader(next) { leader = next; },
    async close() {
      server.forceShutdown();
      await rest.close();
    },
  };
}
