import { GateError } from '../errors.js';
import { SEVERITY_RANK, type RankedSeverity, type Severity } from '../model.js';
import { ReportReader } from './report-fields.js';
import type { VulnFinding, VulnReport } from './vuln-report.js';

const NPM_SEVERITY: Readonly<Record<string, RankedSeverity>> = {
  info: 'NEGLIGIBLE',
  low: 'LOW',
  moderate: 'MEDIUM',
  high: 'HIGH',
  critical: 'CRITICAL',
};

interface Advisory {
  readonly id: string;
  readonly packageName: string;
  readonly range: string | null;
  readonly severity: RankedSeverity;
}

/** One entry of `vulnerabilities`: a package npm rates vulnerable, directly or through others. */
interface VulnerablePackage {
  readonly name: string;
  readonly severity: RankedSeverity;
  readonly range: string | null;
  /** Advisories npm names for this package itself (`via` objects). */
  readonly advisories: readonly Advisory[];
  /** Other packages it is vulnerable through (`via` strings). */
  readonly through: readonly string[];
}

/**
 * `npm audit --json` (auditReportVersion 2). Every vulnerable package is counted, never only those
 * with an advisory of their own: a `via` string names the package it is vulnerable through, which
 * is followed to the advisories at its source; and each package counts at least at the severity npm
 * gives it, even where the chain cannot be followed. The report's own totals
 * (`metadata.vulnerabilities`) are then checked against what was read: fewer critical or high
 * findings than npm counted means the report was not understood, which is a refusal.
 */
export function parseNpmAuditReport(json: Record<string, unknown>, what: string): VulnReport {
  const read = new ReportReader(what);
  if (json.auditReportVersion !== 2) {
    throw read.fail('auditReportVersion', `${JSON.stringify(json.auditReportVersion)} is not supported; run npm 7 or later (auditReportVersion 2)`);
  }
  const packages = new Map<string, VulnerablePackage>();
  for (const [key, rawEntry] of Object.entries(read.object(json.vulnerabilities ?? {}, 'vulnerabilities'))) {
    packages.set(key, readPackage(read, key, rawEntry));
  }
  const findings: VulnFinding[] = [];
  const seen = new Set<string>();
  for (const pkg of packages.values()) {
    for (const finding of findingsFor(pkg, packages)) {
      const key = `${finding.id}|${finding.packageName}`;
      if (seen.has(key)) continue;
      seen.add(key);
      findings.push(finding);
    }
  }
  checkTotals(read, json.metadata, findings);
  return { format: 'npm-audit', artifactName: null, claimedDigests: [], findings };
}

function readPackage(read: ReportReader, key: string, rawEntry: unknown): VulnerablePackage {
  const path = `vulnerabilities.${key}`;
  const entry = read.object(rawEntry, path);
  const advisories: Advisory[] = [];
  const through: string[] = [];
  read.optionalList(entry.via, `${path}.via`).forEach((via, index) => {
    const viaPath = `${path}.via[${index}]`;
    if (typeof via === 'string') {
      through.push(read.string(via, viaPath));
      return;
    }
    const advisory = read.object(via, viaPath);
    const url = read.optionalString(advisory.url, `${viaPath}.url`);
    advisories.push({
      id: url?.match(/GHSA(-[23456789cfghjmpqrvwx]{4}){3}/)?.[0] ?? `npm-advisory-${String(advisory.source ?? index)}`,
      packageName: read.string(advisory.name ?? key, `${viaPath}.name`),
      range: read.optionalString(advisory.range, `${viaPath}.range`),
      severity: read.severity(advisory.severity, `${viaPath}.severity`, NPM_SEVERITY, false) as RankedSeverity,
    });
  });
  return {
    name: read.string(entry.name ?? key, `${path}.name`),
    severity: read.severity(entry.severity, `${path}.severity`, NPM_SEVERITY, false) as RankedSeverity,
    range: read.optionalString(entry.range, `${path}.range`),
    advisories,
    through,
  };
}

function findingsFor(pkg: VulnerablePackage, packages: ReadonlyMap<string, VulnerablePackage>): VulnFinding[] {
  const findings: VulnFinding[] = pkg.advisories.map((advisory) => ({
    id: advisory.id,
    packageName: advisory.packageName,
    installedVersion: advisory.range,
    fixedVersion: null,
    severity: advisory.severity,
    target: 'package-lock.json',
  }));
  const through = pkg.through.length > 0 ? `package-lock.json, vulnerable through ${pkg.through.join(', ')}` : 'package-lock.json';
  for (const advisory of sourceAdvisories(pkg, packages)) {
    findings.push({ id: advisory.id, packageName: pkg.name, installedVersion: pkg.range, fixedVersion: null, severity: advisory.severity, target: through });
  }
  const worst = Math.max(-1, ...findings.map((finding) => rank(finding.severity)));
  if (worst < SEVERITY_RANK[pkg.severity]) {
    // npm rates the package worse than any advisory the report lets us reach: count it at npm's rating.
    findings.push({ id: `npm-audit:${pkg.name}`, packageName: pkg.name, installedVersion: pkg.range, fixedVersion: null, severity: pkg.severity, target: through });
  }
  return findings;
}

/** The advisories at the source of each `via` string, followed through any chain of packages, each package once. */
function sourceAdvisories(pkg: VulnerablePackage, packages: ReadonlyMap<string, VulnerablePackage>): Advisory[] {
  const visited = new Set<string>([pkg.name]);
  const queue = [...pkg.through];
  const found: Advisory[] = [];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (visited.has(name)) continue;
    visited.add(name);
    const next = packages.get(name);
    if (!next) continue;
    found.push(...next.advisories);
    queue.push(...next.through);
  }
  return found;
}

/** npm counts vulnerable packages by its rating of each; the gate must have read at least as many at each level that can stop. */
function checkTotals(read: ReportReader, rawMetadata: unknown, findings: readonly VulnFinding[]): void {
  const metadata = read.object(rawMetadata, 'metadata');
  const totals = read.object(metadata.vulnerabilities, 'metadata.vulnerabilities');
  const count = (field: string): number => {
    const value = totals[field] ?? 0;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw read.fail(`metadata.vulnerabilities.${field}`, 'expected a count');
    return value;
  };
  const worstByPackage = new Map<string, number>();
  for (const finding of findings) {
    worstByPackage.set(finding.packageName, Math.max(worstByPackage.get(finding.packageName) ?? -1, rank(finding.severity)));
  }
  const atLeast = (severity: RankedSeverity): number => [...worstByPackage.values()].filter((worst) => worst >= SEVERITY_RANK[severity]).length;
  const claimed = { critical: count('critical'), high: count('critical') + count('high') };
  const readCritical = atLeast('CRITICAL');
  const readHigh = atLeast('HIGH');
  if (readCritical < claimed.critical || readHigh < claimed.high) {
    throw new GateError(
      'GATE_VULN_REPORT_INCONSISTENT',
      `${read.what}: metadata.vulnerabilities counts ${count('critical')} critical and ${count('high')} high vulnerable packages, but the report's entries show ${readCritical} critical and ${readHigh - readCritical} high; the report is truncated, edited or not understood, so it proves nothing`,
    );
  }
}

function rank(severity: Severity): number {
  return severity === 'UNKNOWN' ? -1 : SEVERITY_RANK[severity];
}
