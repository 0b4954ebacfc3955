import type { Severity } from '../model.js';

/** One vulnerable package as reported by a scanner, in the gate's own terms. */
export interface VulnFinding {
  readonly id: string;
  readonly packageName: string;
  readonly installedVersion: string | null;
  readonly fixedVersion: string | null;
  readonly severity: Severity;
  /** Where the scanner found it (Trivy target, Grype location), for the message. */
  readonly target: string | null;
}

export interface VulnReport {
  readonly format: 'trivy' | 'grype' | 'npm-audit';
  readonly artifactName: string | null;
  /** Image digests the report says it describes; empty when it names none (filesystem scans). */
  readonly claimedDigests: readonly string[];
  readonly findings: readonly VulnFinding[];
}
