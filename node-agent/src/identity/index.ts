export {
  generateAgentKey, loadAgentIdentity, saveAgentIdentity, identityPaths, IDENTITY_DIR, type AgentKey, type AgentIdentity,
} from './identity-files.js';
export { NodeCredentials, type IssueToken } from './node-credentials.js';
export { enrollAgent, type EnrollOptions } from './enroll.js';
export { rotateAgentKey, type RotateKeyCall } from './rotate-key.js';
export { channelCredentials, type CoordinatorTls } from './channel.js';
export { loadEnrollConfig, EnrollConfigSchema, type EnrollConfig } from './enroll-config.js';
