import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { FederationService } from '@medfed/proto';
import type { Logger } from 'pino';
import type { FederationEngine } from '../../federation/engine.js';
import { federationService } from './federation-service.js';

export interface GrpcListening {
  readonly server: grpc.Server;
  readonly address: string;
  readonly health: HealthImplementation;
}

/** Serves medfed.v1.Federation and the standard grpc.health.v1.Health on one port. */
export async function startGrpcServer(engine: FederationEngine, log: Logger, options: {
  host: string; port: number; credentials?: grpc.ServerCredentials;
}): Promise<GrpcListening> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 4 * 1024 * 1024,
    'grpc.keepalive_time_ms': 30_000,
  });
  server.addService(FederationService, federationService(engine, log));
  const health = new HealthImplementation({ '': 'SERVING', 'medfed.v1.Federation': 'SERVING' });
  health.addToServer(server);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${options.host}:${options.port}`, options.credentials ?? grpc.ServerCredentials.createInsecure(),
      (err, p) => (err ? reject(err) : resolve(p)));
  });
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return { server, address: `${host}:${port}`, health };
}
