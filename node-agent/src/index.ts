export { NodeAgent, AGENT_VERSION } from './agent.js';
export { loadAgentConfig, AGENT_ENV } from './config/load.js';
export { AgentConfigSchema, type AgentConfig } from './config/schema.js';
export { CoordinatorClient, CoordinatorError } from './transport/client.js';
