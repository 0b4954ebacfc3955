export { NodeAgent, AGENT_VERSION } from './agent.js';
export { loadAgentConfig, AGENT_ENV } from './config/load.js';
export { AgentConfigSchema, type AgentConfig } from './config/schema.js';
export { CoordinatorClient, CoordinatorError } from './transport/client.js';
export * from './data/index.js';
export * from './training/index.js';
export * from './privacy/index.js';
export * as masking from './masking/index.js';
export * from './sandbox/index.js';
