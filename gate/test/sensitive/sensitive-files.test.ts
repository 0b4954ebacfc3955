import { afterAll, describe, expect, it } from '@jest/globals';
import { evaluateGate, findSensitiveFiles, parsePolicy, readArtifact, type Decision } from '../../src/index.js';
import { wantsContent } from '../../src/sensitive/find-sensitive-files.js';
import { FAKE, makeTar, makeTree, removeTrees } from '../support/fixture-tree.js';

afterAll(removeTrees);

const CERTIFICATE_ONLY = ['-----BEGIN ', 'CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END ', 'CERTIFICATE-----\n'].join('');
const BASE = { 'app/server.js': "console.log('medfed');\n" };

interface Case {
  readonly name: string;
  readonly files: Readonly<Record<string, string>>;
  /** rule ids expected, as `path:ruleId`. */
  readonly findings: readonly string[];
  /** Decisions under the default policy's sensitive-file rules (prod and staging stop, dev warns). */
  readonly staging: Decision;
  readonly dev: Decision;
}

const CASES: readonly Case[] = [
  { name: 'clean application', files: BASE, findings: [], staging: 'allow', dev: 'allow' },
  { name: 'PEM holding a private key', files: { ...BASE, 'tls/server.pem': FAKE.privateKeyBlock }, findings: ['tls/server.pem:pem-file', 'tls/server.pem:private-key-block'], staging: 'stop', dev: 'warn' },
  { name: 'PEM holding only a certificate', files: { ...BASE, 'tls/ca.pem': CERTIFICATE_ONLY }, findings: [], staging: 'allow', dev: 'allow' },
  { name: '*.key file', files: { ...BASE, 'tls/tls.key': 'placeholder' }, findings: ['tls/tls.key:key-file'], staging: 'stop', dev: 'warn' },
  { name: 'id_rsa', files: { ...BASE, 'home/.ssh/id_rsa': 'placeholder' }, findings: ['home/.ssh/id_rsa:ssh-key'], staging: 'stop', dev: 'warn' },
  { name: 'id_rsa.pub (id_rsa* by name)', files: { ...BASE, 'id_rsa.pub': 'ssh-ed25519 AAAA' }, findings: ['id_rsa.pub:ssh-key'], staging: 'stop', dev: 'warn' },
  { name: '.env', files: { ...BASE, '.env': 'NODE_ENV=production\n' }, findings: ['.env:dotenv'], staging: 'stop', dev: 'warn' },
  { name: '.env.production with a password', files: { ...BASE, 'app/.env.production': `DB_PASSWORD=${FAKE.password}\n` }, findings: ['app/.env.production:dotenv', 'app/.env.production:password-assignment'], staging: 'stop', dev: 'warn' },
  { name: '.env.example template', files: { ...BASE, '.env.example': 'DB_PASSWORD=\n' }, findings: [], staging: 'allow', dev: 'allow' },
  { name: '.git directory (one finding for all of it)', files: { ...BASE, '.git/HEAD': 'ref: refs/heads/main\n', '.git/config': '[core]\n', '.git/objects/ab/cdef': 'x' }, findings: ['.git:git-metadata'], staging: 'stop', dev: 'warn' },
  { name: 'password in JSON config', files: { ...BASE, 'config/app.json': JSON.stringify({ db: { password: FAKE.password } }) }, findings: ['config/app.json:password-assignment'], staging: 'stop', dev: 'warn' },
  { name: 'password reference in YAML', files: { ...BASE, 'config/app.yaml': 'db:\n  password: ${DB_PASSWORD}\n  passwordFile: /run/secrets/db\n' }, findings: [], staging: 'allow', dev: 'allow' },
  { name: 'secret: in YAML', files: { ...BASE, 'deploy/values.yaml': `oauth:\n  client_secret: ${FAKE.password}\n` }, findings: ['deploy/values.yaml:secret-assignment'], staging: 'stop', dev: 'warn' },
  { name: 'AWS key id in an ini file', files: { ...BASE, 'conf/aws.ini': `[default]\nkey_id = ${FAKE.awsKeyId}\n` }, findings: ['conf/aws.ini:aws-access-key-id'], staging: 'stop', dev: 'warn' },
  { name: 'credentials inside a connection URL', files: { ...BASE, 'conf/db.conf': `url = postgres://medfed:${FAKE.password}@db:5432/medfed\n` }, findings: ['conf/db.conf:url-credentials'], staging: 'stop', dev: 'warn' },
  { name: 'password in prose (not a config file)', files: { ...BASE, 'README.md': `password=${FAKE.password}\n` }, findings: [], staging: 'allow', dev: 'allow' },
  { name: 'Kubernetes secretKeyRef is a reference, not a secret', files: { ...BASE, 'k8s/deploy.yaml': 'env:\n  - name: DATABASE_URL\n    valueFrom:\n      secretKeyRef: { name: db, key: url }\n' }, findings: [], staging: 'allow', dev: 'allow' },
  { name: 'a YAML key opening a block is not an assignment', files: { ...BASE, 'k8s/volumes.yaml': 'volumes:\n  - name: tls\n    secret:\n      secretName: medfed-tls\n' }, findings: [], staging: 'allow', dev: 'allow' },
  { name: 'private key block in a .conf file', files: { ...BASE, 'conf/tls.conf': FAKE.privateKeyBlock }, findings: ['conf/tls.conf:private-key-block'], staging: 'stop', dev: 'warn' },
];

const policyWith = (extra: string): ReturnType<typeof parsePolicy> =>
  parsePolicy(
    `version: 1
name: sensitive-only
environments:
  staging:
    rules:
      - { gate: sensitive_files, trigger: file_name, action: stop }
      - { gate: sensitive_files, trigger: content, action: stop }
  dev:
    rules:
      - { gate: sensitive_files, trigger: file_name, action: warn }
      - { gate: sensitive_files, trigger: content, action: warn }
${extra}`,
    'test policy',
  );

describe('sensitive-file fixtures (built at test time)', () => {
  for (const testCase of CASES) {
    it(`${testCase.name}: staging ${testCase.staging}, dev ${testCase.dev}`, async () => {
      const root = await makeTree(testCase.files);
      const inventory = await readArtifact(root, { wantContent: wantsContent });
      expect(findSensitiveFiles(inventory.entries).map((finding) => `${finding.path}:${finding.ruleId}`).sort()).toEqual([...testCase.findings].sort());
      // Under the shipped default policy.
      expect((await evaluateGate({ artifact: root, env: 'staging' })).triggers.filter((trigger) => trigger.gate === 'sensitive_files')).toHaveLength(testCase.findings.length);
      const policy = policyWith('');
      expect((await evaluateGate({ artifact: root, env: 'staging', policy })).decision).toBe(testCase.staging);
      expect((await evaluateGate({ artifact: root, env: 'dev', policy })).decision).toBe(testCase.dev);
    });
  }

  it('never quotes the matched secret in a message', async () => {
    const root = await makeTree({ 'config/app.json': JSON.stringify({ password: FAKE.password }) });
    const decision = await evaluateGate({ artifact: root, env: 'staging', policy: policyWith('') });
    expect(JSON.stringify(decision)).not.toContain(FAKE.password);
    expect(decision.triggers[0]?.message).toMatch(/config\/app\.json line 1: password assignment/);
  });

  it('finds sensitive files inside a gzip tarball artifact', async () => {
    const tarball = makeTar([{ path: './app/server.js', content: 'x' }, { path: './app/.env', content: 'A=1' }], { gzip: true });
    const decision = await evaluateGate({ artifact: tarball, env: 'staging', policy: policyWith('') });
    expect(decision.decision).toBe('stop');
    expect(decision.triggers).toEqual([expect.objectContaining({ gate: 'sensitive_files', trigger: 'file_name', subject: 'app/.env' })]);
  });

  it('captures config bytes only up to the capture limit, but the gate searches the whole file as it streams', async () => {
    const big = JSON.stringify({ filler: 'x'.repeat(1024 * 1024), password: FAKE.password });
    const root = await makeTree({ 'data/big.json': big });
    const inventory = await readArtifact(root, { wantContent: wantsContent });
    expect(inventory.entries.find((entry) => entry.path === 'data/big.json')).toMatchObject({ contentSkipped: true });
    const decision = await evaluateGate({ artifact: root, env: 'staging', policy: policyWith('') });
    expect(decision.triggers).toEqual([expect.objectContaining({ trigger: 'content', subject: 'data/big.json', message: expect.stringContaining('[password-assignment]') })]);
  });
});

describe('ignore_paths and exemptions', () => {
  const files = { ...BASE, 'test/fixtures/tls.key': 'placeholder', 'tls/server.key': 'placeholder' };

  it('ignore_paths removes matching files from a rule', async () => {
    const policy = parsePolicy(
      `version: 1
name: ignore
environments:
  prod:
    rules:
      - { gate: sensitive_files, trigger: file_name, action: stop, params: { ignore_paths: ['test/**', 'tls/*.key'] } }
`,
      'ignore policy',
    );
    expect((await evaluateGate({ artifact: await makeTree(files), env: 'prod', policy })).decision).toBe('allow');
  });

  const exemption = (expires: string, environments = '') =>
    policyWith(`exemptions:
  - gate: sensitive_files
    trigger: file_name
    subject: '**/*.key'
    reason: test keys generated for the integration suite, not used anywhere
    approver: security-officer@hospital.example
    expires: '${expires}'${environments}
`);

  it('a live exemption turns stop into allow and names who approved it', async () => {
    const decision = await evaluateGate({ artifact: await makeTree(files), env: 'staging', policy: exemption('2030-01-01T00:00:00Z'), now: new Date('2029-12-31T23:59:59Z') });
    expect(decision.decision).toBe('allow');
    expect(decision.triggers).toHaveLength(2);
    for (const trigger of decision.triggers) expect(trigger.exemptedBy).toMatchObject({ approver: 'security-officer@hospital.example' });
  });

  it('an expired exemption no longer applies and is reported as expired', async () => {
    const decision = await evaluateGate({ artifact: await makeTree(files), env: 'staging', policy: exemption('2030-01-01T00:00:00Z'), now: new Date('2030-01-01T00:00:00Z') });
    expect(decision.decision).toBe('stop');
    for (const trigger of decision.triggers) {
      expect(trigger.exemptedBy).toBeNull();
      expect(trigger.expiredExemptions).toEqual([expect.objectContaining({ expires: '2030-01-01T00:00:00Z' })]);
    }
  });

  it('an exemption limited to other environments does not apply', async () => {
    const decision = await evaluateGate({
      artifact: await makeTree(files),
      env: 'staging',
      policy: exemption('2030-01-01', '\n    environments: [dev]'),
      now: new Date('2029-01-01T00:00:00Z'),
    });
    expect(decision.decision).toBe('stop');
  });
});
