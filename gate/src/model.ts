/** Shared vocabulary of the gate: environments, severities, actions, triggers and the decision. */

export const GATE_ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;
export type GateEnvironment = (typeof GATE_ENVIRONMENTS)[number];

export function isGateEnvironment(value: unknown): value is GateEnvironment {
  return typeof value === 'string' && (GATE_ENVIRONMENTS as readonly string[]).includes(value);
}

/** Ordered from least to most severe; UNKNOWN is kept apart because it has no rank. */
export const SEVERITY_RANK = {
  NEGLIGIBLE: 0,
  LOW: 1,
  MEDIUM: 2,
  HIGH: 3,
  CRITICAL: 4,
} as const;
export type RankedSeverity = keyof typeof SEVERITY_RANK;
export type Severity = RankedSeverity | 'UNKNOWN';

export const RULE_ACTIONS = ['stop', 'warn'] as const;
export type RuleAction = (typeof RULE_ACTIONS)[number];

export type Decision = 'allow' | 'warn' | 'stop';

/** Gates a policy can configure, plus `input`: refusals of unreadable or mismatched inputs, always `stop`. */
export type GateName = 'vulnerabilities' | 'sensitive_files' | 'signature' | 'sbom' | 'input';

export interface Exemption {
  readonly gate: Exclude<GateName, 'input'>;
  readonly trigger: string;
  /** Exact subject or glob (`*` within a path segment, `**` across segments). */
  readonly subject: string;
  readonly reason: string;
  readonly approver: string;
  /** ISO 8601; the exemption stops applying at this instant. */
  readonly expires: string;
  readonly environments?: readonly GateEnvironment[];
}

export interface GateTrigger {
  readonly gate: GateName;
  readonly trigger: string;
  /** What the policy says to do when this trigger fires (before exemptions). */
  readonly action: RuleAction;
  /** What identifies the finding: vulnerability ID, file path, license, artifact digest. */
  readonly subject: string;
  readonly message: string;
  readonly severity?: Severity;
  /** Error code for `input` triggers. */
  readonly code?: string;
  /** On a warning: the stricter environments in which the same finding is a stop (dev warns where staging and prod stop). */
  readonly stopsIn?: readonly GateEnvironment[];
  /** The live exemption that neutralises this trigger, or null. */
  readonly exemptedBy: Exemption | null;
  /** Exemptions that would have matched but have expired. */
  readonly expiredExemptions: readonly Exemption[];
}

export interface PolicyIdentity {
  readonly name: string;
  readonly source: string;
  /** sha256 of the policy file bytes, so a decision names exactly which policy produced it. */
  readonly digest: string;
}

export interface GateDecision {
  readonly decision: Decision;
  readonly env: GateEnvironment;
  /** `sha256:<hex>`; null only when the artifact could not be read. */
  readonly artifactDigest: string | null;
  readonly artifactKind: 'directory' | 'tarball' | null;
  /** Manifest and config digests when the artifact is an OCI image layout. */
  readonly imageDigests: readonly string[];
  /** What was judged when it is not an artifact (a dependency scan of the source tree). */
  readonly subject?: string;
  readonly policy: PolicyIdentity | null;
  readonly evaluatedAt: string;
  readonly triggers: readonly GateTrigger[];
}
