import { loadConfig, type EnvBinding } from '@medfed/proto';
import { AgentConfigSchema, type AgentConfig } from './schema.js';

export const AGENT_ENV: readonly EnvBinding[] = [
  { variable: 'MEDFED_ENV', key: 'env', type: 'string' },
  { variable: 'MEDFED_SITE_ID', key: 'siteId', type: 'string' },
  { variable: 'MEDFED_COORDINATOR_GRPC', key: 'coordinator.grpc', type: 'string' },
  { variable: 'MEDFED_DATA_CSV', key: 'data.csv', type: 'string' },
  { variable: 'MEDFED_DATA_LABEL', key: 'data.label', type: 'string' },
  { variable: 'MEDFED_DATA_SCHEMA', key: 'data.schema', type: 'string' },
  { variable: 'MEDFED_STATE_DIR', key: 'stateDir', type: 'string' },
  { variable: 'MEDFED_LOG_LEVEL', key: 'logLevel', type: 'string' },
];

export function loadAgentConfig(options: {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  overrides?: Record<string, unknown>;
}): Promise<AgentConfig> {
  return loadConfig(AgentConfigSchema, { ...options, bindings: AGENT_ENV });
}
