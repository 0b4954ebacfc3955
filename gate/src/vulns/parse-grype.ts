import type { Severity } from '../model.js';
import { ReportReader } from './report-fields.js';
import type { VulnFinding, VulnReport } from './vuln-report.js';

const GRYPE_SEVERITY: Readonly<Record<string, Severity>> = {
  negligible: 'NEGLIGIBLE',
  low: 'LOW',
  medium: 'MEDIUM',
  high: 'HIGH',
  critical: 'CRITICAL',
  unknown: 'UNKNOWN',
};

/** Grype JSON (`grype <source> -o json`). */
export function parseGrypeReport(json: Record<string, unknown>, what: string): VulnReport {
  const read = new ReportReader(what);
  if (!Array.isArray(json.matches)) throw read.fail('matches', 'expected a list (write [] when nothing matched)');
  const claimed = new Set<string>();
  let artifactName: string | null = null;
  if (json.source !== undefined && json.source !== null) {
    const source = read.object(json.source, 'source');
    if (typeof source.target === 'string') {
      artifactName = source.target;
    } else if (source.target !== undefined && source.target !== null) {
      const target = read.object(source.target, 'source.target');
      artifactName = read.optionalString(target.userInput, 'source.target.userInput');
      if (target.imageID) claimed.add(read.digest(target.imageID, 'source.target.imageID'));
      if (target.manifestDigest) claimed.add(read.digest(target.manifestDigest, 'source.target.manifestDigest'));
      read.optionalList(target.repoDigests, 'source.target.repoDigests').forEach((value, index) => {
        claimed.add(read.repoDigest(value, `source.target.repoDigests[${index}]`));
      });
    }
  }

  const findings: VulnFinding[] = json.matches.map((rawMatch, index) => {
    const path = `matches[${index}]`;
    const match = read.object(rawMatch, path);
    const vulnerability = read.object(match.vulnerability, `${path}.vulnerability`);
    const artifact = read.object(match.artifact, `${path}.artifact`);
    const fix = vulnerability.fix === undefined || vulnerability.fix === null ? {} : read.object(vulnerability.fix, `${path}.vulnerability.fix`);
    const fixVersions = read.optionalList(fix.versions, `${path}.vulnerability.fix.versions`);
    const locations = read.optionalList(artifact.locations, `${path}.artifact.locations`);
    const firstLocation = locations[0] as { path?: unknown } | undefined;
    return {
      id: read.string(vulnerability.id, `${path}.vulnerability.id`),
      packageName: read.string(artifact.name, `${path}.artifact.name`),
      installedVersion: read.optionalString(artifact.version, `${path}.artifact.version`),
      fixedVersion: fixVersions.length > 0 ? read.optionalString(fixVersions[0], `${path}.vulnerability.fix.versions[0]`) : null,
      severity: read.severity(vulnerability.severity, `${path}.vulnerability.severity`, GRYPE_SEVERITY, true),
      target: typeof firstLocation?.path === 'string' ? firstLocation.path : null,
    };
  });
  return { format: 'grype', artifactName, claimedDigests: [...claimed].sort(), findings };
}
