import { parseDocument } from 'yaml';
import { sha256Digest } from '../artifact/digest-format.js';
import { DEFAULT_SCAN_LIMITS, POLICY_LIMIT_KEYS, type ScanLimits } from '../artifact/scan-limits.js';
import { GateError } from '../errors.js';
import { GATE_ENVIRONMENTS, RULE_ACTIONS, type Exemption } from '../model.js';
import type { EnvironmentRules, GatePolicy, PolicyRule } from './gate-policy.js';
import { checkSchema, type Property, type Schema } from './schema.js';
import { CONFIGURABLE_GATES, TRIGGER_CATALOG, type ConfigurableGate } from './trigger-catalog.js';

/** ISO 8601 date or date-time with an explicit zone; a date alone means 00:00 UTC that day. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/;

const ruleSchema: Schema = {
  type: 'object',
  properties: {
    gate: { required: true, schema: { type: 'string', enum: CONFIGURABLE_GATES } },
    trigger: { required: true, schema: { type: 'string' } },
    action: { required: true, schema: { type: 'string', enum: RULE_ACTIONS } },
    params: { schema: { type: 'object', properties: {}, open: true } },
  },
};

const exemptionSchema: Schema = {
  type: 'object',
  properties: {
    gate: { required: true, schema: { type: 'string', enum: CONFIGURABLE_GATES } },
    trigger: { required: true, schema: { type: 'string' } },
    subject: { required: true, schema: { type: 'string' } },
    reason: { required: true, schema: { type: 'string' } },
    approver: { required: true, schema: { type: 'string' } },
    expires: { required: true, schema: { type: 'string', pattern: ISO_INSTANT, patternHint: 'an ISO 8601 date or date-time with a zone (2026-03-31 or 2026-03-31T12:00:00Z)' } },
    environments: { schema: { type: 'array', items: { type: 'string', enum: GATE_ENVIRONMENTS }, minItems: 1 } },
  },
};

const environmentSchema: Schema = {
  type: 'object',
  properties: { rules: { required: true, schema: { type: 'array', items: ruleSchema } } },
};

/** `limits:`: every key optional, each a positive whole number (bytes, levels, or a ratio). */
const limitsSchema: Schema = {
  type: 'object',
  properties: Object.fromEntries(Object.keys(POLICY_LIMIT_KEYS).map((key) => [key, { schema: { type: 'integer', minimum: 1 } }])),
};

const policySchema: Schema = {
  type: 'object',
  extensions: true,
  properties: {
    version: { required: true, schema: { type: 'integer', enum: [1] } },
    name: { required: true, schema: { type: 'string' } },
    description: { schema: { type: 'string' } },
    environments: {
      required: true,
      schema: { type: 'object', properties: Object.fromEntries(GATE_ENVIRONMENTS.map((env) => [env, { schema: environmentSchema }])) },
    },
    exemptions: { schema: { type: 'array', items: exemptionSchema } },
    limits: { schema: limitsSchema },
  },
};

/** Parses and validates a policy document; every refusal names the offending key path. */
export function parsePolicy(text: string | Uint8Array, source: string): GatePolicy {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text);
  const document = parseDocument(bytes.toString('utf8'), { uniqueKeys: true, prettyErrors: true });
  if (document.errors.length > 0) {
    throw invalid(source, `not valid YAML: ${document.errors[0]?.message ?? 'syntax error'}`);
  }
  let raw: unknown;
  try {
    raw = document.toJS({ maxAliasCount: 50 });
  } catch (error) {
    throw invalid(source, `not valid YAML: ${(error as Error).message}`);
  }
  const problem = checkSchema(raw, policySchema, '');
  if (problem) throw invalid(source, problem);
  const policy = raw as {
    name: string;
    description?: string;
    environments: Record<string, { rules: Array<{ gate: string; trigger: string; action: string; params?: Record<string, unknown> }> }>;
    exemptions?: Exemption[];
    limits?: Partial<Record<keyof typeof POLICY_LIMIT_KEYS, number>>;
  };

  const environments: Record<string, EnvironmentRules> = {};
  for (const [env, block] of Object.entries(policy.environments)) {
    environments[env] = { rules: block.rules.map((rule, index) => checkRule(rule, `environments.${env}.rules[${index}]`, source)) };
  }
  const exemptions = (policy.exemptions ?? []).map((exemption, index) => {
    checkTrigger(exemption.gate, exemption.trigger, `exemptions[${index}]`, source);
    if (Number.isNaN(Date.parse(exemption.expires))) throw invalid(source, `exemptions[${index}].expires: ${JSON.stringify(exemption.expires)} is not a real date`);
    return exemption;
  });

  return {
    version: 1,
    name: policy.name,
    ...(policy.description === undefined ? {} : { description: policy.description }),
    environments,
    exemptions,
    limits: scanLimits(policy.limits ?? {}),
    identity: { name: policy.name, source, digest: sha256Digest(bytes) },
  };
}

function scanLimits(given: Partial<Record<keyof typeof POLICY_LIMIT_KEYS, number>>): ScanLimits {
  const limits: Record<keyof ScanLimits, number> = { ...DEFAULT_SCAN_LIMITS };
  for (const [key, field] of Object.entries(POLICY_LIMIT_KEYS)) {
    const value = given[key as keyof typeof POLICY_LIMIT_KEYS];
    if (value !== undefined) limits[field] = value;
  }
  return limits;
}

function checkRule(rule: { gate: string; trigger: string; action: string; params?: Record<string, unknown> }, path: string, source: string): PolicyRule {
  const spec = checkTrigger(rule.gate, rule.trigger, path, source);
  const params = rule.params ?? {};
  const problem = checkSchema(params, { type: 'object', properties: spec.params }, `${path}.params`);
  if (problem) throw invalid(source, problem);
  return { gate: rule.gate as PolicyRule['gate'], trigger: rule.trigger, action: rule.action as PolicyRule['action'], params };
}

interface TriggerSpec {
  readonly fires: string;
  readonly params: Readonly<Record<string, Property>>;
}

function checkTrigger(gate: string, trigger: string, path: string, source: string): TriggerSpec {
  const triggers: Readonly<Record<string, TriggerSpec>> = TRIGGER_CATALOG[gate as ConfigurableGate];
  const spec = triggers[trigger];
  if (!spec) throw invalid(source, `${path}.trigger: ${JSON.stringify(trigger)} is not a trigger of gate ${gate} (known: ${Object.keys(triggers).join(', ')})`);
  return spec;
}

function invalid(source: string, problem: string): GateError {
  return new GateError('GATE_POLICY_INVALID', `policy ${source}: ${problem}`);
}
