import type { Severity } from '../model.js';
import { ReportReader } from './report-fields.js';
import type { VulnFinding, VulnReport } from './vuln-report.js';

const NPM_SEVERITY: Readonly<Record<string, Severity>> = {
  info: 'NEGLIGIBLE',
  low: 'LOW',
  moderate: 'MEDIUM',
  high: 'HIGH',
  critical: 'CRITICAL',
};

/**
 * `npm audit --json` (auditReportVersion 2). Advisories are taken where npm names them (a `via`
 * object); packages that are vulnerable only through another package repeat no advisory of their own.
 */
export function parseNpmAuditReport(json: Record<string, unknown>, what: string): VulnReport {
  const read = new ReportReader(what);
  if (json.auditReportVersion !== 2) {
    throw read.fail('auditReportVersion', `${JSON.stringify(json.auditReportVersion)} is not supported; run npm 7 or later (auditReportVersion 2)`);
  }
  const vulnerabilities = read.object(json.vulnerabilities ?? {}, 'vulnerabilities');
  const findings: VulnFinding[] = [];
  const seen = new Set<string>();
  for (const [name, rawEntry] of Object.entries(vulnerabilities)) {
    const path = `vulnerabilities.${name}`;
    const entry = read.object(rawEntry, path);
    read.optionalList(entry.via, `${path}.via`).forEach((via, index) => {
      if (typeof via === 'string') return;
      const viaPath = `${path}.via[${index}]`;
      const advisory = read.object(via, viaPath);
      const url = read.optionalString(advisory.url, `${viaPath}.url`);
      const id = url?.match(/GHSA(-[23456789cfghjmpqrvwx]{4}){3}/)?.[0] ?? `npm-advisory-${String(advisory.source ?? index)}`;
      const packageName = read.string(advisory.name ?? name, `${viaPath}.name`);
      const key = `${id}|${packageName}`;
      if (seen.has(key)) return;
      seen.add(key);
      findings.push({
        id,
        packageName,
        installedVersion: read.optionalString(advisory.range, `${viaPath}.range`),
        fixedVersion: null,
        severity: read.severity(advisory.severity, `${viaPath}.severity`, NPM_SEVERITY, false),
        target: 'package-lock.json',
      });
    });
  }
  return { format: 'npm-audit', artifactName: null, claimedDigests: [], findings };
}
