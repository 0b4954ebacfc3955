import { ConfigError } from '@medfed/proto';
import { ApprovalError } from '../approvals/index.js';
import type { AgentConfig } from './schema.js';

/**
 * Options that exist for development and simulations only: a production agent refuses each one,
 * naming the key that must change, before it touches its state directory or the coordinator.
 */
export function checkDevelopmentOptions(config: AgentConfig): void {
  if (config.env !== 'production') return;
  if (config.custody.autoApproveSiteLists) {
    throw new ConfigError('CONFIG_INVALID', 'custody.autoApproveSiteLists is a development option; a production steward approves site lists');
  }
  if (config.approvals.autoApproveInDevelopment) {
    throw new ApprovalError('APPROVAL_AUTO_IN_PRODUCTION', 'approvals.autoApproveInDevelopment is a development option; a production steward approves each job (medfed agent approve)');
  }
  if (config.development.trainingSlowdown !== 1) {
    throw new ConfigError('CONFIG_INVALID', `development.trainingSlowdown is a development option (simulated slow sites); a production agent trains at its own speed: remove it or set it to 1 (got ${config.development.trainingSlowdown})`);
  }
}
