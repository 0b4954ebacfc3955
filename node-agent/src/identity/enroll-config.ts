import { loadConfig } from '@medfed/proto';
import Type, { type Static } from 'typebox';
import { AGENT_ENV } from '../config/load.js';

/**
 * What `medfed agent enroll` needs: the site, the coordinator (and its TLS CA) and the state directory.
 * Read from the same file, environment and flags as `medfed agent start`; the data settings are ignored.
 */
export const EnrollConfigSchema = Type.Object({
  siteId: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
  coordinator: Type.Object({
    grpc: Type.String({ pattern: '^(\\[[0-9a-fA-F:]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$' }),
    tls: Type.Optional(Type.Object({ ca: Type.Optional(Type.String({ minLength: 1 })) }, { additionalProperties: false })),
  }, { additionalProperties: false }),
  stateDir: Type.String({ minLength: 1, default: './medfed-agent' }),
});

export type EnrollConfig = Static<typeof EnrollConfigSchema>;

export function loadEnrollConfig(options: { file?: string | undefined; env?: NodeJS.ProcessEnv; overrides?: Record<string, unknown> }): Promise<EnrollConfig> {
  return loadConfig(EnrollConfigSchema, { ...options, bindings: AGENT_ENV });
}
