import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile, readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { evaluateGate, parseVulnReport, type Decision, type GateEnvironment } from '../../src/index.js';
import { cleanSupportingInputs } from '../support/clean-inputs.js';
import { CLEAN_FILES, makeTree, removeTrees } from '../support/fixture-tree.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

interface Expectation {
  readonly prod: Decision;
  readonly staging: Decision;
  readonly dev: Decision;
  /** The `input` refusal every environment must show, for malformed and mismatched reports. */
  readonly refusal?: string;
  /** Triggers the prod decision must hold, as gate/trigger. */
  readonly prodTriggers?: readonly string[];
}

const stopEverywhere = (refusal: string): Expectation => ({ prod: 'stop', staging: 'stop', dev: 'stop', refusal });

/** Every committed report fixture and the decision the default policy must reach on it. */
const EXPECTED: Readonly<Record<string, Expectation>> = {
  'trivy-clean-image.json': { prod: 'allow', staging: 'allow', dev: 'allow', prodTriggers: [] },
  'trivy-critical-os-package.json': { prod: 'stop', staging: 'stop', dev: 'warn', prodTriggers: ['vulnerabilities/severity'] },
  'trivy-high-fix-available.json': { prod: 'stop', staging: 'stop', dev: 'warn', prodTriggers: ['vulnerabilities/severity', 'vulnerabilities/severity'] },
  'trivy-medium-low-only.json': { prod: 'allow', staging: 'allow', dev: 'allow', prodTriggers: [] },
  'trivy-unknown-severity.json': { prod: 'warn', staging: 'warn', dev: 'warn', prodTriggers: ['vulnerabilities/unknown_severity'] },
  'trivy-all-results-null.json': { prod: 'allow', staging: 'allow', dev: 'allow', prodTriggers: [] },
  'trivy-no-results-key.json': { prod: 'allow', staging: 'allow', dev: 'allow', prodTriggers: [] },
  'trivy-fs-scan-unbound.json': { prod: 'warn', staging: 'warn', dev: 'allow', prodTriggers: ['vulnerabilities/report_unbound'] },
  'trivy-high-in-node-package.json': { prod: 'stop', staging: 'stop', dev: 'warn', prodTriggers: ['vulnerabilities/severity'] },
  'trivy-artifactname-by-digest.json': { prod: 'stop', staging: 'stop', dev: 'warn', prodTriggers: ['vulnerabilities/severity'] },
  'trivy-duplicate-finding.json': { prod: 'stop', staging: 'stop', dev: 'warn', prodTriggers: ['vulnerabilities/severity'] },
  'trivy-mismatched-repo-digest.json': stopEverywhere('GATE_VULN_REPORT_DIGEST_MISMATCH'),
  'trivy-mismatched-image-id.json': stopEverywhere('GATE_VULN_REPORT_DIGEST_MISMATCH'),
  'trivy-malformed-severity.json': stopEverywhere('GATE_VULN_REPORT_INVALID'),
  'trivy-malformed-missing-id.json': stopEverywhere('GATE_VULN_REPORT_INVALID'),
  'trivy-unsupported-schema-version.json': stopEverywhere('GATE_VULN_REPORT_INVALID'),
  'trivy-legacy-schema-1-array.json': stopEverywhere('GATE_VULN_REPORT_INVALID'),
  'trivy-malformed-image-id.json': stopEverywhere('GATE_VULN_REPORT_INVALID'),
  'trivy-malformed-vulnerabilities-object.json': stopEverywhere('GATE_VULN_REPORT_INVALID'),
  'trivy-malformed-truncated.json': stopEverywhere('GATE_VULN_REPORT_INVALID'),
  'grype-clean-image.json': { prod: 'allow', staging: 'allow', dev: 'allow', prodTriggers: [] },
  'grype-critical.json': { prod: 'stop', staging: 'stop', dev: 'warn', prodTriggers: ['vulnerabilities/severity'] },
  'grype-negligible-and-medium.json': { prod: 'allow', staging: 'allow', dev: 'allow', prodTriggers: [] },
  'grype-unknown-severity.json': { prod: 'warn', staging: 'warn', dev: 'warn', prodTriggers: ['vulnerabilities/unknown_severity'] },
  'grype-directory-source-high.json': { prod: 'stop', staging: 'stop', dev: 'warn', prodTriggers: ['vulnerabilities/severity', 'vulnerabilities/report_unbound'] },
  'grype-mismatched-digest.json': stopEverywhere('GATE_VULN_REPORT_DIGEST_MISMATCH'),
  'grype-malformed-matches-null.json': stopEverywhere('GATE_VULN_REPORT_INVALID'),
  'grype-malformed-severity.json': stopEverywhere('GATE_VULN_REPORT_INVALID'),
  // ws has the advisory; engine.io is vulnerable through ws and counts too.
  'npm-audit-high.json': { prod: 'stop', staging: 'stop', dev: 'warn', prodTriggers: ['vulnerabilities/severity', 'vulnerabilities/severity', 'vulnerabilities/report_unbound'] },
  'npm-audit-clean.json': { prod: 'warn', staging: 'warn', dev: 'allow', prodTriggers: ['vulnerabilities/report_unbound'] },
};

let artifact: string;
const supporting = cleanSupportingInputs();

beforeAll(async () => {
  artifact = await makeTree(CLEAN_FILES);
});
afterAll(removeTrees);

describe('vulnerability report fixtures under the default policy', () => {
  it('has an expectation for every committed fixture, and at least 20 of them', async () => {
    const committed = (await readdir(FIXTURES)).filter((name) => name.endsWith('.json')).sort();
    expect(committed).toEqual(Object.keys(EXPECTED).sort());
    expect(committed.length).toBeGreaterThanOrEqual(20);
  });

  for (const [fixture, expected] of Object.entries(EXPECTED)) {
    for (const env of ['prod', 'staging', 'dev'] as const satisfies readonly GateEnvironment[]) {
      it(`${fixture} → ${expected[env]} in ${env}`, async () => {
        const decision = await evaluateGate({ artifact, env, vulnReport: `${FIXTURES}${fixture}`, ...supporting });
        expect(decision.decision).toBe(expected[env]);
        if (expected.refusal) {
          expect(decision.triggers).toContainEqual(expect.objectContaining({ gate: 'input', trigger: 'vuln_report', action: 'stop', code: expected.refusal }));
        } else {
          expect(decision.triggers.filter((trigger) => trigger.gate === 'input')).toEqual([]);
        }
        if (env === 'prod' && expected.prodTriggers) {
          expect(decision.triggers.map((trigger) => `${trigger.gate}/${trigger.trigger}`).sort()).toEqual([...expected.prodTriggers].sort());
        }
      });
    }
  }
});

describe('report parsing details', () => {
  const load = async (name: string) => parseVulnReport(await readFile(`${FIXTURES}${name}`));

  it('reads Trivy findings across results, treating "Vulnerabilities": null as none', async () => {
    const report = await load('trivy-high-in-node-package.json');
    expect(report.format).toBe('trivy');
    expect(report.findings.map((finding) => [finding.id, finding.packageName, finding.severity])).toEqual([
      ['CVE-2011-3374', 'apt', 'LOW'],
      ['CVE-2024-37890', 'ws', 'HIGH'],
      ['CVE-2023-26136', 'tough-cookie', 'MEDIUM'],
    ]);
    expect((await load('trivy-all-results-null.json')).findings).toEqual([]);
  });

  it('collects the image digests a report claims (ImageID, RepoDigests, Grype manifestDigest)', async () => {
    expect((await load('trivy-clean-image.json')).claimedDigests).toHaveLength(2);
    expect((await load('grype-clean-image.json')).claimedDigests).toContain('sha256:fd673314c55ec4b4b401014194f119927b5542887effb5fcf9fc4ef811bf561b');
    expect((await load('trivy-fs-scan-unbound.json')).claimedDigests).toEqual([]);
  });

  it('maps Grype and npm severities onto the gate scale', async () => {
    expect((await load('grype-negligible-and-medium.json')).findings.map((finding) => finding.severity)).toEqual(['NEGLIGIBLE', 'MEDIUM']);
    const npm = await load('npm-audit-high.json');
    expect(npm.findings).toEqual([
      expect.objectContaining({ id: 'GHSA-3h5v-q93c-6h6q', packageName: 'ws', severity: 'HIGH' }),
      expect.objectContaining({ id: 'GHSA-3h5v-q93c-6h6q', packageName: 'engine.io', severity: 'HIGH', target: 'package-lock.json, vulnerable through ws' }),
    ]);
  });

  it('names the offending field of a malformed report', async () => {
    await expect(load('trivy-malformed-severity.json')).rejects.toThrow(/Results\[0\]\.Vulnerabilities\[0\]\.Severity: "SEVERE"/);
    await expect(load('grype-malformed-matches-null.json')).rejects.toThrow(/matches: expected a list/);
  });

  it('reports the same CVE in one package once, even when two targets list it', async () => {
    const decision = await evaluateGate({ artifact, env: 'prod', vulnReport: `${FIXTURES}trivy-duplicate-finding.json`, ...supporting });
    expect(decision.triggers.filter((trigger) => trigger.subject === 'CVE-2023-4911')).toHaveLength(1);
  });
});
