import { loadConfig, type EnvBinding } from '@medfed/proto';
import { CoordinatorConfigSchema, type CoordinatorConfig } from './schema.js';

/** Environment variables that override the file (documented in docs/operations.md). */
export const COORDINATOR_ENV: readonly EnvBinding[] = [
  { variable: 'MEDFED_ENV', key: 'env', type: 'string' },
  { variable: 'MEDFED_REST_HOST', key: 'rest.host', type: 'string' },
  { variable: 'MEDFED_REST_PORT', key: 'rest.port', type: 'int' },
  { variable: 'MEDFED_GRPC_HOST', key: 'grpc.host', type: 'string' },
  { variable: 'MEDFED_GRPC_PORT', key: 'grpc.port', type: 'int' },
  { variable: 'DATABASE_URL', key: 'databaseUrl', type: 'string' },
  { variable: 'MEDFED_DATA_DIR', key: 'dataDir', type: 'string' },
  { variable: 'MEDFED_LOG_LEVEL', key: 'logLevel', type: 'string' },
  { variable: 'MEDFED_TLS_CERT', key: 'tls.cert', type: 'string' },
  { variable: 'MEDFED_TLS_KEY', key: 'tls.key', type: 'string' },
  { variable: 'MEDFED_TLS_CA', key: 'tls.ca', type: 'string' },
  { variable: 'MEDFED_AUTH_ISSUER', key: 'auth.issuer', type: 'string' },
  { variable: 'MEDFED_AUTH_AUDIENCE', key: 'auth.audience', type: 'string' },
  { variable: 'MEDFED_REST_ORIGINS', key: 'auth.restOrigins', type: 'list' },
  { variable: 'MEDFED_GRPC_AUTHORITIES', key: 'auth.grpcAuthorities', type: 'list' },
  { variable: 'MEDFED_ADVERTISE_GRPC', key: 'ha.advertise.grpc', type: 'string' },
  { variable: 'MEDFED_ADVERTISE_REST', key: 'ha.advertise.rest', type: 'string' },
  { variable: 'MEDFED_GOVERNANCE_ROSTER_FILE', key: 'governance.rosterFile', type: 'string' },
];

export function loadCoordinatorConfig(options: {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  overrides?: Record<string, unknown>;
}): Promise<CoordinatorConfig> {
  return loadConfig(CoordinatorConfigSchema, { ...options, bindings: COORDINATOR_ENV });
}
