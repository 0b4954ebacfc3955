import { afterAll, describe, expect, it } from '@jest/globals';
import { evaluateDependencyReport, evaluateGate, parseVulnReport } from '../../src/index.js';
import { CLEAN_FILES, makeTree, removeTrees } from '../support/fixture-tree.js';

afterAll(removeTrees);

interface Entry {
  readonly severity: string;
  readonly via: ReadonlyArray<string | { source: number; name: string; url: string; severity: string; range: string }>;
}

/** An `npm audit --json` report (auditReportVersion 2) with the given entries and totals. */
function auditReport(entries: Readonly<Record<string, Entry>>, totals: Partial<Record<'critical' | 'high' | 'moderate', number>>): Buffer {
  const vulnerabilities = Object.fromEntries(
    Object.entries(entries).map(([name, entry]) => [name, { name, isDirect: false, effects: [], range: '<=9.9.9', nodes: [`node_modules/${name}`], fixAvailable: false, ...entry }]),
  );
  const counts = { info: 0, low: 0, moderate: 0, high: 0, critical: 0, ...totals };
  return Buffer.from(JSON.stringify({ auditReportVersion: 2, vulnerabilities, metadata: { vulnerabilities: { ...counts, total: Object.values(counts).reduce((a, b) => a + b, 0) } } }));
}

const advisory = (name: string, severity: string, ghsa: string) => ({ source: 1, name, url: `https://github.com/advisories/${ghsa}`, severity, range: '<1.0.0' });

describe('npm audit: via strings are followed, every vulnerable package counts', () => {
  it('a string via is followed to its source advisory, whose severity the dependent package takes', () => {
    const report = auditReport(
      {
        'web-framework': { severity: 'critical', via: ['body-parser'] },
        'body-parser': { severity: 'critical', via: ['qs'] },
        qs: { severity: 'critical', via: [advisory('qs', 'critical', 'GHSA-hrpp-h998-j3pp')] },
      },
      { critical: 3 },
    );
    const findings = parseVulnReport(report).findings.map((finding) => [finding.id, finding.packageName, finding.severity, finding.target]);
    expect(findings).toEqual([
      ['GHSA-hrpp-h998-j3pp', 'web-framework', 'CRITICAL', 'package-lock.json, vulnerable through body-parser'],
      ['GHSA-hrpp-h998-j3pp', 'body-parser', 'CRITICAL', 'package-lock.json, vulnerable through qs'],
      ['GHSA-hrpp-h998-j3pp', 'qs', 'CRITICAL', 'package-lock.json'],
    ]);
  });

  it('a package npm rates worse than any advisory it can reach counts at its own severity', () => {
    const report = auditReport(
      {
        wrapper: { severity: 'high', via: ['inner'] },
        inner: { severity: 'moderate', via: [advisory('inner', 'moderate', 'GHSA-2p57-rm9w-gvfp')] },
      },
      { high: 1, moderate: 1 },
    );
    expect(parseVulnReport(report).findings.map((finding) => [finding.id, finding.packageName, finding.severity])).toEqual([
      ['GHSA-2p57-rm9w-gvfp', 'wrapper', 'MEDIUM'],
      ['npm-audit:wrapper', 'wrapper', 'HIGH'],
      ['GHSA-2p57-rm9w-gvfp', 'inner', 'MEDIUM'],
    ]);
  });

  it('a cycle of via strings ends, each package counted at its own severity', () => {
    const report = auditReport({ left: { severity: 'high', via: ['right'] }, right: { severity: 'high', via: ['left'] } }, { high: 2 });
    expect(parseVulnReport(report).findings.map((finding) => [finding.id, finding.severity])).toEqual([
      ['npm-audit:left', 'HIGH'],
      ['npm-audit:right', 'HIGH'],
    ]);
  });
});

describe('npm audit: the report\'s own totals are checked', () => {
  it('totals that count more critical packages than the entries show are a stop in every environment', async () => {
    const report = auditReport({ qs: { severity: 'critical', via: [advisory('qs', 'critical', 'GHSA-hrpp-h998-j3pp')] } }, { critical: 3 });
    expect(() => parseVulnReport(report)).toThrow(expect.objectContaining({ code: 'GATE_VULN_REPORT_INCONSISTENT' }));
    for (const env of ['dev', 'staging', 'prod'] as const) {
      const decision = await evaluateGate({ artifact: await makeTree(CLEAN_FILES), vulnReport: report, env });
      expect(decision.decision).toBe('stop');
      expect(decision.triggers).toContainEqual(expect.objectContaining({ gate: 'input', trigger: 'vuln_report', action: 'stop', code: 'GATE_VULN_REPORT_INCONSISTENT' }));
    }
  });

  it('totals that count high packages the entries do not show are a stop too (dependency scan)', async () => {
    const report = auditReport({}, { high: 1 });
    const decision = await evaluateDependencyReport({ report, env: 'staging' });
    expect(decision.decision).toBe('stop');
    expect(decision.triggers).toEqual([expect.objectContaining({ gate: 'input', code: 'GATE_VULN_REPORT_INCONSISTENT' })]);
  });

  it('a report without metadata.vulnerabilities cannot be checked and is refused', () => {
    const report = Buffer.from(JSON.stringify({ auditReportVersion: 2, vulnerabilities: {} }));
    expect(() => parseVulnReport(report)).toThrow(expect.objectContaining({ code: 'GATE_VULN_REPORT_INVALID', message: expect.stringContaining('metadata') }));
  });

  it('moderate and low totals above what was read do not stop (they cannot change a decision)', () => {
    expect(parseVulnReport(auditReport({}, { moderate: 4 })).findings).toEqual([]);
  });
});
