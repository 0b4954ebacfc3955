import { loadConfig, type EnvBinding } from '@medfed/proto';
import { AgentConfigSchema, type AgentConfig } from './schema.js';
import { withPinnedTrust } from '../verification/trust-bundle.js';

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

/**
 * The agent's settings; the trust bundle pinned in its state dir (medfed agent trust import) fills in
 * the trust anchors and the coordinator CA it leaves unset, unless `pinnedTrust` is false.
 */
export async function loadAgentConfig(options: {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  overrides?: Record<string, unknown>;
  pinnedTrust?: boolean;
}): Promise<AgentConfig> {
  const config = await loadConfig(AgentConfigSchema, { file: options.file, env: options.env, overrides: options.overrides, bindings: AGENT_ENV });
  return options.pinnedTrust === false ? config : withPinnedTrust(config);
}
