import { afterAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DEFAULT_POLICY_PATH, DEFAULT_SCAN_LIMITS, TRIGGER_CATALOG, evaluateGate, loadPolicy, parsePolicy } from '../../src/index.js';
import { cleanSupportingInputs } from '../support/clean-inputs.js';
import { CLEAN_FILES, makeTree, removeTrees } from '../support/fixture-tree.js';

afterAll(removeTrees);

const HOSPITAL = fileURLToPath(new URL('./fixtures/hospital-exemptions.yaml', import.meta.url));
const CRITICAL_REPORT = fileURLToPath(new URL('../vulns/fixtures/trivy-critical-os-package.json', import.meta.url));
const HIGH_REPORT = fileURLToPath(new URL('../vulns/fixtures/trivy-high-fix-available.json', import.meta.url));

describe('default policy', () => {
  it('loads, names itself, and covers every environment', async () => {
    const policy = await loadPolicy();
    expect(policy.identity).toMatchObject({ name: 'medfed-default', source: DEFAULT_POLICY_PATH });
    expect(policy.identity.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(Object.keys(policy.environments).sort()).toEqual(['dev', 'prod', 'staging']);
  });

  it('prod stops on HIGH/CRITICAL, sensitive files, and missing or invalid signatures; dev never stops', async () => {
    const policy = await loadPolicy();
    const rules = (env: 'dev' | 'staging' | 'prod') => policy.environments[env]?.rules.map((rule) => `${rule.gate}/${rule.trigger}:${rule.action}`) ?? [];
    expect(rules('prod')).toEqual(
      expect.arrayContaining(['vulnerabilities/severity:stop', 'sensitive_files/file_name:stop', 'sensitive_files/content:stop', 'signature/missing:stop', 'signature/invalid:stop']),
    );
    expect(rules('staging')).toEqual(expect.arrayContaining(['vulnerabilities/severity:stop', 'sensitive_files/file_name:stop', 'sensitive_files/content:stop']));
    expect(rules('staging')).not.toContain('signature/missing:stop');
    expect(rules('dev').every((rule) => rule.endsWith(':warn'))).toBe(true);
    expect(policy.environments.prod?.rules.find((rule) => rule.trigger === 'severity')?.params).toEqual({ min_severity: 'HIGH' });
  });

  it('reads scan limits from limits:, the defaults for those not given', () => {
    expect(parsePolicy('version: 1\nname: t\nenvironments: {}\nlimits: { max_text_bytes: 1024, max_archive_depth: 5 }\n', 'p').limits).toEqual({
      ...DEFAULT_SCAN_LIMITS,
      maxTextBytes: 1024,
      maxArchiveDepth: 5,
    });
    expect(parsePolicy('version: 1\nname: t\nenvironments: {}\n', 'p').limits).toEqual(DEFAULT_SCAN_LIMITS);
    expect(DEFAULT_SCAN_LIMITS).toEqual({ maxTextBytes: 64 * 1024 * 1024, maxArchiveDepth: 3, maxExpansionRatio: 100, maxExpandedBytes: 4 * 1024 * 1024 * 1024 });
  });

  it('documents its scan limits as a commented block that, uncommented, equals the defaults', async () => {
    const text = await readFile(DEFAULT_POLICY_PATH, 'utf8');
    const uncommented = text.replace(/^# (limits:)$/m, '$1').replace(/^#( {3}max_\w+: \d+)/gm, '$1');
    expect(uncommented).not.toBe(text);
    expect(parsePolicy(uncommented, 'uncommented').limits).toEqual(DEFAULT_SCAN_LIMITS);
  });

  it('applies when no policy is given', async () => {
    const decision = await evaluateGate({ artifact: await makeTree(CLEAN_FILES), env: 'prod' });
    expect(decision.policy?.name).toBe('medfed-default');
    expect(decision.decision).toBe('stop'); // no report and no signature in prod
  });
});

describe('exemptions in a hospital policy', () => {
  const supporting = cleanSupportingInputs();
  const run = async (report: string, now: string) =>
    evaluateGate({ artifact: await makeTree(CLEAN_FILES), env: 'prod', policy: HOSPITAL, vulnReport: report, now: new Date(now), ...supporting });

  it('before expiry, the exempted CVE does not stop (the LOW finding stays below the floor)', async () => {
    const decision = await run(CRITICAL_REPORT, '2029-06-01T00:00:00Z');
    expect(decision.decision).toBe('allow');
    const exempted = decision.triggers.find((trigger) => trigger.subject === 'CVE-2023-45853');
    expect(exempted?.exemptedBy).toMatchObject({ approver: 'ciso@st-example-hospital.example', reason: expect.stringContaining('SEC-1042') });
  });

  it('after expiry, the same report stops and the lapsed exemption is shown', async () => {
    const decision = await run(CRITICAL_REPORT, '2030-01-02T00:00:00Z');
    expect(decision.decision).toBe('stop');
    const trigger = decision.triggers.find((candidate) => candidate.subject === 'CVE-2023-45853');
    expect(trigger).toMatchObject({ action: 'stop', exemptedBy: null, expiredExemptions: [expect.objectContaining({ subject: 'CVE-2023-45853' })] });
  });

  it('an exemption covers only its own subject', async () => {
    expect((await run(HIGH_REPORT, '2029-06-01T00:00:00Z')).decision).toBe('stop');
  });

  it('keeps the strongest action once when a warn rule and a stop rule both fire', async () => {
    const decision = await run(HIGH_REPORT, '2029-06-01T00:00:00Z');
    const glibc = decision.triggers.filter((trigger) => trigger.subject === 'CVE-2023-4911');
    expect(glibc).toEqual([expect.objectContaining({ action: 'stop' })]);
  });
});

describe('policy validation names the bad key', () => {
  const base = (body: string) => `version: 1\nname: t\n${body}`;
  const CASES: ReadonlyArray<[string, string, RegExp]> = [
    ['not YAML', 'version: 1\nname: [unclosed', /not valid YAML/],
    ['duplicate key', 'version: 1\nversion: 1\nname: t\nenvironments: {}', /not valid YAML/],
    ['unknown top-level key', base('environments: {}\nrulez: []'), /rulez: unknown key/],
    ['missing environments', base(''), /environments: required key is missing/],
    ['unknown environment', base('environments:\n  production: { rules: [] }'), /environments\.production: unknown key \(allowed here: dev, staging, prod\)/],
    ['bad action', base('environments:\n  prod:\n    rules:\n      - { gate: signature, trigger: missing, action: block }'), /environments\.prod\.rules\[0\]\.action: "block" is not one of stop, warn/],
    ['bad gate', base('environments:\n  prod:\n    rules:\n      - { gate: malware, trigger: any, action: stop }'), /environments\.prod\.rules\[0\]\.gate: "malware" is not one of/],
    ['bad trigger', base('environments:\n  prod:\n    rules:\n      - { gate: signature, trigger: expired, action: stop }'), /environments\.prod\.rules\[0\]\.trigger: "expired" is not a trigger of gate signature/],
    ['missing required param', base('environments:\n  prod:\n    rules:\n      - { gate: vulnerabilities, trigger: severity, action: stop }'), /environments\.prod\.rules\[0\]\.params\.min_severity: required key is missing/],
    ['bad param value', base('environments:\n  prod:\n    rules:\n      - { gate: vulnerabilities, trigger: severity, action: stop, params: { min_severity: SEVERE } }'), /params\.min_severity: "SEVERE" is not one of NEGLIGIBLE, LOW, MEDIUM, HIGH, CRITICAL/],
    ['unknown param', base('environments:\n  prod:\n    rules:\n      - { gate: signature, trigger: missing, action: stop, params: { keyless: true } }'), /params\.keyless: unknown key/],
    ['exemption without approver', base('environments: {}\nexemptions:\n  - { gate: signature, trigger: missing, subject: x, reason: y, expires: 2030-01-01 }'), /exemptions\[0\]\.approver: required key is missing/],
    ['exemption with a bad expiry', base('environments: {}\nexemptions:\n  - { gate: signature, trigger: missing, subject: x, reason: y, approver: z, expires: next week }'), /exemptions\[0\]\.expires: "next week" is not an ISO 8601 date/],
    ['exemption with an impossible date', base('environments: {}\nexemptions:\n  - { gate: signature, trigger: missing, subject: x, reason: y, approver: z, expires: 2030-13-45 }'), /exemptions\[0\]\.expires: "2030-13-45" is not a real date/],
    ['wrong version', 'version: 2\nname: t\nenvironments: {}', /version: 2 is not one of 1/],
    ['unknown scan limit', base('environments: {}\nlimits: { max_file_bytes: 10 }'), /limits\.max_file_bytes: unknown key \(allowed here: max_text_bytes, max_archive_depth, max_expansion_ratio, max_expanded_bytes\)/],
    ['scan limit below 1', base('environments: {}\nlimits: { max_archive_depth: 0 }'), /limits\.max_archive_depth: 0 is less than 1/],
    ['scan limit not a whole number', base('environments: {}\nlimits: { max_text_bytes: 16MiB }'), /limits\.max_text_bytes: expected an integer/],
  ];

  for (const [name, yaml, message] of CASES) {
    it(name, () => {
      expect(() => parsePolicy(yaml, 'p.yaml')).toThrow(expect.objectContaining({ code: 'GATE_POLICY_INVALID', message: expect.stringMatching(message) }));
    });
  }

  it('every trigger of the catalog has a handler that parses as a rule', () => {
    for (const [gate, triggers] of Object.entries(TRIGGER_CATALOG)) {
      for (const trigger of Object.keys(triggers)) {
        const params = trigger === 'severity' ? ', params: { min_severity: LOW }' : trigger === 'license_not_allowed' ? ', params: { allowed: [MIT] }' : '';
        expect(() => parsePolicy(`version: 1\nname: t\nenvironments:\n  dev:\n    rules:\n      - { gate: ${gate}, trigger: ${trigger}, action: warn${params} }\n`, 'p')).not.toThrow();
      }
    }
  });

  it('an unreadable or invalid policy file is a stop, not a crash', async () => {
    const artifact = await makeTree(CLEAN_FILES);
    const missing = await evaluateGate({ artifact, env: 'dev', policy: '/nonexistent/policy.yaml' });
    expect(missing).toMatchObject({ decision: 'stop', policy: null });
    expect(missing.triggers).toEqual([expect.objectContaining({ gate: 'input', trigger: 'policy', code: 'GATE_POLICY_UNREADABLE' })]);
    const dir = await makeTree({ 'bad.yaml': 'version: 1\nname: t\nenvironments:\n  prod: { rules: [] }\n' });
    const noEnv = await evaluateGate({ artifact, env: 'dev', policy: `${dir}/bad.yaml` });
    expect(noEnv.triggers).toEqual([expect.objectContaining({ gate: 'input', code: 'GATE_ENV_INVALID' })]);
  });
});
