import { SEVERITY_RANK } from '../model.js';
import type { Property, Schema } from './schema.js';

const pathGlobs: Schema = { type: 'array', items: { type: 'string' } };

/**
 * Every gate and trigger a policy rule may name, what it fires on, and the parameters it takes.
 * The policy validator, the gates and docs/gate.md all follow this table.
 */
export const TRIGGER_CATALOG = {
  vulnerabilities: {
    severity: {
      fires: 'once per finding whose severity is min_severity or worse',
      params: { min_severity: { required: true, schema: { type: 'string', enum: Object.keys(SEVERITY_RANK) } } },
    },
    unknown_severity: { fires: 'once per finding the scanner could not rate (UNKNOWN)', params: {} },
    report_missing: { fires: 'when no vulnerability report is given', params: {} },
    report_unbound: { fires: 'when the report names no image digest, so it cannot be bound to the artifact', params: {} },
  },
  sensitive_files: {
    file_name: {
      fires: 'once per file whose name marks it as a secret (keys, .env, .git/, keystores)',
      params: { ignore_paths: { schema: pathGlobs } },
    },
    content: {
      fires: 'once per rule matched in a text file (private key blocks, cloud and npm tokens, password and secret assignments)',
      params: { ignore_paths: { schema: pathGlobs } },
    },
  },
  signature: {
    missing: { fires: 'when no signature is given', params: {} },
    invalid: { fires: 'when the signature does not verify over the artifact digest with any trusted key', params: {} },
  },
  sbom: {
    missing: { fires: 'when no SBOM is given', params: {} },
    license_not_allowed: {
      fires: 'once per component whose license (expression) is not satisfied by the allowed list',
      params: { allowed: { required: true, schema: { type: 'array', items: { type: 'string' }, minItems: 1 } } },
    },
    license_missing: { fires: 'once per component that declares no license', params: {} },
  },
} as const satisfies Record<string, Record<string, { fires: string; params: Record<string, Property> }>>;

export type ConfigurableGate = keyof typeof TRIGGER_CATALOG;
export const CONFIGURABLE_GATES = Object.keys(TRIGGER_CATALOG) as ConfigurableGate[];
