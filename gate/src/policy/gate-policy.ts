import type { ScanLimits } from '../artifact/scan-limits.js';
import type { Exemption, GateEnvironment, PolicyIdentity, RuleAction } from '../model.js';
import type { ConfigurableGate } from './trigger-catalog.js';

export interface PolicyRule {
  readonly gate: ConfigurableGate;
  readonly trigger: string;
  readonly action: RuleAction;
  readonly params: Readonly<Record<string, unknown>>;
}

export interface EnvironmentRules {
  readonly rules: readonly PolicyRule[];
}

/** A validated gate policy. Build one with parsePolicy() or loadPolicy(); never by hand. */
export interface GatePolicy {
  readonly version: 1;
  readonly name: string;
  readonly description?: string;
  readonly environments: Readonly<Partial<Record<GateEnvironment, EnvironmentRules>>>;
  readonly exemptions: readonly Exemption[];
  /** `limits:` of the policy over DEFAULT_SCAN_LIMITS; absent only on a policy built before limits existed. */
  readonly limits?: ScanLimits;
  readonly identity: PolicyIdentity;
}
