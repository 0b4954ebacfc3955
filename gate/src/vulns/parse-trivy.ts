import type { Severity } from '../model.js';
import { ReportReader } from './report-fields.js';
import type { VulnFinding, VulnReport } from './vuln-report.js';

const TRIVY_SEVERITY: Readonly<Record<string, Severity>> = {
  UNKNOWN: 'UNKNOWN',
  LOW: 'LOW',
  MEDIUM: 'MEDIUM',
  HIGH: 'HIGH',
  CRITICAL: 'CRITICAL',
};

/** Trivy JSON, schema version 2 (`trivy image|fs|rootfs --format json`). */
export function parseTrivyReport(json: Record<string, unknown>, what: string): VulnReport {
  const read = new ReportReader(what);
  if (json.SchemaVersion !== 2) {
    throw read.fail('SchemaVersion', `${JSON.stringify(json.SchemaVersion)} is not supported; the gate reads Trivy JSON schema version 2 (Trivy 0.20 or later)`);
  }
  const artifactName = read.optionalString(json.ArtifactName, 'ArtifactName');
  const claimed = new Set<string>();
  if (artifactName?.includes('@sha256:')) claimed.add(read.repoDigest(artifactName, 'ArtifactName'));
  if (json.Metadata !== undefined && json.Metadata !== null) {
    const metadata = read.object(json.Metadata, 'Metadata');
    if (metadata.ImageID !== undefined && metadata.ImageID !== '') claimed.add(read.digest(metadata.ImageID, 'Metadata.ImageID'));
    read.optionalList(metadata.RepoDigests, 'Metadata.RepoDigests').forEach((value, index) => {
      claimed.add(read.repoDigest(value, `Metadata.RepoDigests[${index}]`));
    });
  }

  const findings: VulnFinding[] = [];
  read.optionalList(json.Results, 'Results').forEach((rawResult, resultIndex) => {
    const resultPath = `Results[${resultIndex}]`;
    const result = read.object(rawResult, resultPath);
    const target = read.optionalString(result.Target, `${resultPath}.Target`);
    read.optionalList(result.Vulnerabilities, `${resultPath}.Vulnerabilities`).forEach((rawVuln, vulnIndex) => {
      const path = `${resultPath}.Vulnerabilities[${vulnIndex}]`;
      const vuln = read.object(rawVuln, path);
      findings.push({
        id: read.string(vuln.VulnerabilityID, `${path}.VulnerabilityID`),
        packageName: read.string(vuln.PkgName, `${path}.PkgName`),
        installedVersion: read.optionalString(vuln.InstalledVersion, `${path}.InstalledVersion`),
        fixedVersion: read.optionalString(vuln.FixedVersion, `${path}.FixedVersion`),
        severity: read.severity(vuln.Severity, `${path}.Severity`, TRIVY_SEVERITY, false),
        target,
      });
    });
  });
  return { format: 'trivy', artifactName, claimedDigests: [...claimed].sort(), findings };
}
