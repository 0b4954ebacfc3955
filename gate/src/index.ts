export { GATE_ERRORS, GateError, type GateErrorCode } from './errors.js';
export {
  GATE_ENVIRONMENTS,
  SEVERITY_RANK,
  RULE_ACTIONS,
  isGateEnvironment,
  type GateEnvironment,
  type Severity,
  type RankedSeverity,
  type RuleAction,
  type Decision,
  type GateName,
  type Exemption,
  type GateTrigger,
  type GateDecision,
  type PolicyIdentity,
} from './model.js';
export { evaluateGate, type EvaluateGateOptions, type VerifiedSignature } from './evaluate-gate.js';
export { evaluateDependencyReport, type EvaluateDependencyReportOptions } from './evaluate-dependency-report.js';
export { decide, DECISION_EXIT_CODE } from './decide.js';
export { loadPolicy, DEFAULT_POLICY_PATH, MODEL_POLICY_PATH } from './policy/load-policy.js';
export { parsePolicy } from './policy/parse-policy.js';
export type { GatePolicy, PolicyRule } from './policy/gate-policy.js';
export { TRIGGER_CATALOG, type ConfigurableGate } from './policy/trigger-catalog.js';
export { artifactDigest } from './artifact/artifact-digest.js';
export { readArtifact } from './artifact/read-artifact.js';
export type {
  ArtifactInventory,
  ArtifactEntry,
  ReadArtifactOptions,
  MemoryArtifact,
  ArtifactSource,
  ContentMatch,
  TextScan,
  ScanIssue,
  ScanIssueCode,
} from './artifact/inventory.js';
export { DEFAULT_SCAN_LIMITS, type ScanLimits } from './artifact/scan-limits.js';
export { isSha256Digest, sha256Digest } from './artifact/digest-format.js';
export { signingSubject } from './signature/signing-subject.js';
export { signDigest } from './signature/sign-digest.js';
export { loadPublicKey, type TrustedKey, type TrustedKeySource } from './signature/load-public-key.js';
export { parseSignature } from './signature/parse-signature.js';
export { verifyDigestSignature, type SignatureCheck } from './signature/verify-signature.js';
export { parseVulnReport } from './vulns/parse-vuln-report.js';
export type { VulnReport, VulnFinding } from './vulns/vuln-report.js';
export { parseCycloneDx, type Sbom, type SbomComponent } from './sbom/parse-cyclonedx.js';
export { findSensitiveFiles, type SensitiveFinding } from './sensitive/find-sensitive-files.js';
export { NAME_RULES, CONTENT_RULES } from './sensitive/sensitive-patterns.js';
export { TextSecretScan } from './sensitive/text-secret-scan.js';
export { renderDecisionText } from './render/render-text.js';
export { decisionToJson } from './render/decision-json.js';
export type { InputSource } from './read-input.js';
