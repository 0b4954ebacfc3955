import { afterAll, describe, expect, it } from '@jest/globals';
import { evaluateGate, parseVulnReport } from '../../src/index.js';
import { CLEAN_FILES, FAKE, makeTar, makeTree, removeTrees } from '../support/fixture-tree.js';

afterAll(removeTrees);

/**
 * Each bypass reproduced against the shipped default policy at --env staging, with the artifact
 * built here exactly as it was reproduced. Every one must end in a stop that names its reason.
 */
describe('the gate fails closed at --env staging on each reproduced bypass', () => {
  it('a config file over 1 MiB with a password at its end stops on the password', async () => {
    const filler = Array.from({ length: 50_000 }, (_, index) => `setting_${index}: value-${index}`).join('\n');
    const config = `${filler}\ndb_password: ${FAKE.password}\n`;
    expect(Buffer.byteLength(config)).toBeGreaterThan(1024 * 1024);
    const decision = await evaluateGate({ artifact: await makeTree({ ...CLEAN_FILES, 'config/app.yaml': config }), env: 'staging' });
    expect(decision.decision).toBe('stop');
    expect(decision.triggers).toContainEqual(
      expect.objectContaining({ gate: 'sensitive_files', trigger: 'content', action: 'stop', subject: 'config/app.yaml', message: expect.stringMatching(/line 50001: .*\[password-assignment\]/) }),
    );
  });

  it('an npm audit report whose critical package has only string via entries yields a CRITICAL finding and stops', async () => {
    const report = Buffer.from(
      JSON.stringify({
        auditReportVersion: 2,
        vulnerabilities: {
          'template-engine': {
            name: 'template-engine',
            severity: 'critical',
            isDirect: true,
            via: ['template-parser'],
            effects: [],
            range: '<=4.2.0',
            nodes: ['node_modules/template-engine'],
            fixAvailable: false,
          },
        },
        metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 1, total: 1 } },
      }),
    );
    expect(parseVulnReport(report).findings).toEqual([expect.objectContaining({ packageName: 'template-engine', severity: 'CRITICAL' })]);
    const decision = await evaluateGate({ artifact: await makeTree(CLEAN_FILES), vulnReport: report, env: 'staging' });
    expect(decision.decision).toBe('stop');
    expect(decision.triggers).toContainEqual(expect.objectContaining({ gate: 'vulnerabilities', trigger: 'severity', action: 'stop', severity: 'CRITICAL' }));
  });

  it('a tar entry ../../etc/cron.d/evil stops as a path traversal', async () => {
    const tarball = makeTar([
      { path: 'app/server.js', content: "console.log('medfed');\n" },
      { path: '../../etc/cron.d/evil', content: '* * * * * root /tmp/payload\n' },
    ]);
    const decision = await evaluateGate({ artifact: tarball, env: 'staging' });
    expect(decision.decision).toBe('stop');
    expect(decision.triggers).toContainEqual(
      expect.objectContaining({ gate: 'input', trigger: 'artifact', action: 'stop', subject: '../../etc/cron.d/evil', code: 'GATE_ARCHIVE_PATH_TRAVERSAL' }),
    );
  });

  it('ID_RSA in upper case stops as an SSH key', async () => {
    const decision = await evaluateGate({ artifact: await makeTree({ ...CLEAN_FILES, 'home/.ssh/ID_RSA': 'placeholder\n' }), env: 'staging' });
    expect(decision.decision).toBe('stop');
    expect(decision.triggers).toContainEqual(
      expect.objectContaining({ gate: 'sensitive_files', trigger: 'file_name', action: 'stop', subject: 'home/.ssh/ID_RSA', message: expect.stringContaining('[ssh-key]') }),
    );
  });

  it('.ENV in upper case stops as an environment file', async () => {
    const decision = await evaluateGate({ artifact: await makeTree({ ...CLEAN_FILES, 'app/.ENV': 'NODE_ENV=production\n' }), env: 'staging' });
    expect(decision.decision).toBe('stop');
    expect(decision.triggers).toContainEqual(
      expect.objectContaining({ gate: 'sensitive_files', trigger: 'file_name', action: 'stop', subject: 'app/.ENV', message: expect.stringContaining('[dotenv]') }),
    );
  });

  it('a private key saved as deploy_key.txt stops on its content', async () => {
    const decision = await evaluateGate({ artifact: await makeTree({ ...CLEAN_FILES, 'deploy/deploy_key.txt': FAKE.privateKeyBlock }), env: 'staging' });
    expect(decision.decision).toBe('stop');
    expect(decision.triggers).toContainEqual(
      expect.objectContaining({ gate: 'sensitive_files', trigger: 'content', action: 'stop', subject: 'deploy/deploy_key.txt', message: expect.stringContaining('[private-key-block]') }),
    );
  });

  it('a key inside a nested vendor.tar.gz stops, named by its path inside the archive', async () => {
    const vendor = makeTar([{ path: 'vendor/tls/server.pem', content: FAKE.privateKeyBlock }], { gzip: true });
    const decision = await evaluateGate({ artifact: await makeTree({ ...CLEAN_FILES, 'vendor.tar.gz': vendor }), env: 'staging' });
    expect(decision.decision).toBe('stop');
    expect(decision.triggers).toContainEqual(
      expect.objectContaining({ gate: 'sensitive_files', trigger: 'content', action: 'stop', subject: 'vendor.tar.gz!/vendor/tls/server.pem', message: expect.stringContaining('[private-key-block]') }),
    );
  });

  it('credentials in a .js file stop on their content', async () => {
    const source = `export const database = {\n  host: 'db.internal',\n  user: 'medfed',\n  password: '${FAKE.password}',\n};\n`;
    const decision = await evaluateGate({ artifact: await makeTree({ ...CLEAN_FILES, 'app/db-config.js': source }), env: 'staging' });
    expect(decision.decision).toBe('stop');
    expect(decision.triggers).toContainEqual(
      expect.objectContaining({ gate: 'sensitive_files', trigger: 'content', action: 'stop', subject: 'app/db-config.js', message: expect.stringMatching(/line 4: .*\[password-assignment\]/) }),
    );
  });
});
