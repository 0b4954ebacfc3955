import { GateError } from '../errors.js';
import { parseJsonInput } from '../read-input.js';
import { parseGrypeReport } from './parse-grype.js';
import { parseNpmAuditReport } from './parse-npm-audit.js';
import { parseTrivyReport } from './parse-trivy.js';
import type { VulnReport } from './vuln-report.js';

/** Each format is recognised by a top-level key only it writes. */
const FORMATS: ReadonlyArray<{ key: string; parse: (json: Record<string, unknown>, what: string) => VulnReport }> = [
  { key: 'SchemaVersion', parse: parseTrivyReport },
  { key: 'matches', parse: parseGrypeReport },
  { key: 'auditReportVersion', parse: parseNpmAuditReport },
];

/** Parses a Trivy, Grype or npm audit JSON report. Anything else is GATE_VULN_REPORT_INVALID. */
export function parseVulnReport(bytes: Uint8Array, what = 'vulnerability report'): VulnReport {
  const json = parseJsonInput(Buffer.from(bytes), what, 'GATE_VULN_REPORT_INVALID');
  if (Array.isArray(json)) {
    throw new GateError('GATE_VULN_REPORT_INVALID', `${what}: a top-level list is the Trivy schema 1 format, which is not supported; re-run Trivy 0.20 or later with --format json`);
  }
  if (typeof json !== 'object' || json === null) {
    throw new GateError('GATE_VULN_REPORT_INVALID', `${what}: expected a JSON object`);
  }
  const record = json as Record<string, unknown>;
  const format = FORMATS.find(({ key }) => Object.hasOwn(record, key));
  if (!format) {
    throw new GateError('GATE_VULN_REPORT_INVALID', `${what}: neither Trivy (SchemaVersion), Grype (matches) nor npm audit (auditReportVersion) JSON`);
  }
  return format.parse(record, what);
}
