export { SANDBOX_ERRORS, SandboxError, type SandboxErrorCode } from './errors.js';
export {
  createTrainerSandbox,
  type TrainerSandbox,
  type TrainerSandboxOptions,
  type SandboxRun,
  type SandboxOutcome,
  type AgentEnv,
} from './trainer-sandbox.js';
export { sandboxAvailability, type SandboxAvailability, type AvailabilityCheck, type AvailabilityOptions } from './availability.js';
export { DEFAULT_LIMITS, resolveLimits, type SandboxLimits, type MonitorThresholds } from './limits.js';
export { BREACH_KINDS, classifyExit, type Breach, type BreachKind, type TrainerExit } from './breach.js';
export { policyDigest, bwrapArguments, type SandboxPolicy } from './policy.js';
export type { MountOp } from './mounts.js';
export { buildSeccompFilter, REFUSED_SYSCALLS, type SeccompFilter, type SeccompSummary } from './seccomp/filter.js';
export type { TrainerUsage } from './run-trainer.js';
export type { TrainerBundle } from './trainer-bundle.js';
export {
  TRAINER_PROTOCOL_VERSION,
  encodeTrainerRequest,
  type TrainerRequest,
  type TrainerResult,
  type TrainerBackend,
  type SandboxTrainingSettings,
  type SandboxDpSettings,
} from './protocol/messages.js';
export { attestationStatementFor } from './attestation-statement.js';
