import { applyExemptions, type UnexemptedTrigger } from './apply-exemptions.js';
import { decide } from './decide.js';
import { GateError } from './errors.js';
import { isGateEnvironment, type GateDecision, type GateEnvironment } from './model.js';
import type { GateContext } from './gates/gate-context.js';
import type { GatePolicy, PolicyRule } from './policy/gate-policy.js';
import { loadPolicy } from './policy/load-policy.js';
import { readInput, type InputSource } from './read-input.js';
import { runRules } from './run-rules.js';
import { markStricterStops } from './stricter-environments.js';
import { parseVulnReport } from './vulns/parse-vuln-report.js';

/** Rules about binding a report to an artifact do not apply to a scan of the source tree. */
const ARTIFACT_BOUND_TRIGGERS = new Set(['report_missing', 'report_unbound']);

export interface EvaluateDependencyReportOptions {
  readonly policy?: GatePolicy | string;
  /** `npm audit --json`, Trivy or Grype JSON of the source tree: path or bytes. */
  readonly report: InputSource;
  readonly env: GateEnvironment;
  readonly now?: Date;
  /** Names the scanned tree in the decision (e.g. the lockfile path). */
  readonly subject?: string;
}

/**
 * Runs only the policy's vulnerability rules (with its exemptions) over a dependency scan of the
 * source tree, the same way evaluateGate runs them over an artifact's report.
 */
export async function evaluateDependencyReport(options: EvaluateDependencyReportOptions): Promise<GateDecision> {
  if (!isGateEnvironment(options.env)) {
    throw new GateError('GATE_ENV_INVALID', `env ${JSON.stringify(options.env)} is not one of dev, staging, prod`);
  }
  const now = options.now ?? new Date();
  const subject = options.subject ?? (typeof options.report === 'string' ? options.report : 'dependency report');
  const triggers: UnexemptedTrigger[] = [];
  let policy: GatePolicy | null = null;
  try {
    policy = typeof options.policy === 'object' ? options.policy : await loadPolicy(options.policy);
    const report = parseVulnReport(await readInput(options.report, 'dependency report'), `dependency report ${subject}`);
    const context: GateContext = { artifact: null, subjectDigest: subject, vulnReport: { state: 'ok', value: report }, sbom: { state: 'absent' }, signature: { state: 'absent' }, sensitiveFindings: [] };
    const include = (rule: PolicyRule): boolean => rule.gate === 'vulnerabilities' && !ARTIFACT_BOUND_TRIGGERS.has(rule.trigger);
    triggers.push(...markStricterStops(runRules(policy, options.env, context, include), policy, options.env, context, include));
  } catch (error) {
    if (!(error instanceof GateError)) throw error;
    triggers.push({ gate: 'input', trigger: policy ? 'vuln_report' : 'policy', action: 'stop', subject, message: error.message, code: error.code });
  }
  const judged = applyExemptions(triggers, policy?.exemptions ?? [], options.env, now);
  return {
    decision: decide(judged),
    env: options.env,
    artifactDigest: null,
    artifactKind: null,
    imageDigests: [],
    subject,
    policy: policy?.identity ?? null,
    evaluatedAt: now.toISOString(),
    triggers: judged,
  };
}
