import type { ConfigurableGate } from '../policy/trigger-catalog.js';
import type { TriggerHandler } from './gate-context.js';
import { SBOM_TRIGGERS } from './sbom-triggers.js';
import { SENSITIVE_FILE_TRIGGERS } from './sensitive-file-triggers.js';
import { SIGNATURE_TRIGGERS } from './signature-triggers.js';
import { VULNERABILITY_TRIGGERS } from './vulnerability-triggers.js';

/** The code behind each row of TRIGGER_CATALOG. */
export const TRIGGER_HANDLERS: Readonly<Record<ConfigurableGate, Readonly<Record<string, TriggerHandler>>>> = {
  vulnerabilities: VULNERABILITY_TRIGGERS,
  sensitive_files: SENSITIVE_FILE_TRIGGERS,
  signature: SIGNATURE_TRIGGERS,
  sbom: SBOM_TRIGGERS,
};
