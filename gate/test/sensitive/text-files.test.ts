import { afterAll, describe, expect, it } from '@jest/globals';
import { evaluateGate, parsePolicy, renderDecisionText, TextSecretScan } from '../../src/index.js';
import { FAKE, makeTree, removeTrees } from '../support/fixture-tree.js';

afterAll(removeTrees);

const policy = parsePolicy(
  `version: 1
name: sensitive-only
environments:
  staging: { rules: [{ gate: sensitive_files, trigger: file_name, action: stop }, { gate: sensitive_files, trigger: content, action: stop }] }
`,
  'sensitive policy',
);

async function findings(files: Readonly<Record<string, string | Buffer>>): Promise<string[]> {
  const decision = await evaluateGate({ artifact: await makeTree(files), env: 'staging', policy });
  return decision.triggers.map((trigger) => `${trigger.subject} ${trigger.message.match(/\[([a-z-]+)\]/)?.[1] ?? trigger.code}`).sort();
}

describe('every text file is searched, whatever its name', () => {
  it('finds a key and tokens in source code, shell scripts, Dockerfiles and plain text', async () => {
    expect(
      await findings({
        'src/keys.ts': `export const signingKey = \`${FAKE.privateKeyBlock}\`;\n`,
        'scripts/deploy.sh': `#!/bin/sh\nexport PGPASSWORD=${FAKE.password}\n`,
        Dockerfile: `FROM node:24\nENV DB_PASSWORD=${FAKE.password}\n`,
        'notes/aws.txt': `key ${FAKE.awsKeyId}\n`,
        'lib/publish.py': `NPM = "${['npm_', 'a'.repeat(36)].join('')}"\n`,
      }),
    ).toEqual([
      'Dockerfile password-assignment',
      'lib/publish.py npm-token',
      'notes/aws.txt aws-access-key-id',
      'scripts/deploy.sh password-assignment',
      'src/keys.ts private-key-block',
    ]);
  });

  it('in source code only a quoted literal is a value: references, placeholders, and code that names a PEM header, are not secrets', async () => {
    expect(
      await findings({
        'src/login.js': 'const password = req.body.password;\nconst hash = hashPassword(password);\n',
        'src/pem.js': "if (pem.indexOf('-----BEGIN PRIVATE KEY-----') !== 0) throw new Error('not PKCS#8');\n",
        'src/config.ts': 'export const apiKey = process.env.API_KEY;\nexport const secret = "${SECRET}";\n',
        'README.md': `Set password=${FAKE.password} in your shell.\n`,
        'docs/example.md': "```js\nconnect({ password: 'your-password' })\nlog({ secret: '[Redacted]', password: 'example' })\n```\n",
      }),
    ).toEqual([]);
  });

  it('reads UTF-16 text (with a byte-order mark) and Latin-1 text', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`password = "${FAKE.password}"\r\n`, 'utf16le')]);
    const latin1 = Buffer.from(`# réglages\npassword=${FAKE.password}\n`, 'latin1');
    expect(await findings({ 'win/setup.ps1': utf16, 'conf/fr.properties': latin1 })).toEqual(['conf/fr.properties password-assignment', 'win/setup.ps1 password-assignment']);
  });

  it('leaves binary files (a NUL in their first bytes) to the name rules', async () => {
    expect(await findings({ 'model/weights.bin': Buffer.concat([Buffer.from([0, 1, 2, 3]), Buffer.from(`password=${FAKE.password}`)]) })).toEqual([]);
  });

  it('matches names case-insensitively, .GIT included (one finding for the directory)', async () => {
    expect(await findings({ 'repo/.GIT/config': '[core]\n', 'repo/.GIT/HEAD': 'ref: refs/heads/main\n', 'home/.SSH/Id_Ed25519': 'placeholder\n' })).toEqual([
      'home/.SSH/Id_Ed25519 ssh-key',
      'repo/.GIT git-metadata',
    ]);
  });

  it('reports the line of a match that straddles the edge of a scan window', () => {
    const scan = new TextSecretScan('conf/app.conf');
    // The first write fills a whole window, which is searched on its own and ends inside the key name.
    scan.write(`${'x'.repeat(1024 * 1024)}\n\npass`);
    scan.write(`word = ${FAKE.password}\n`);
    expect(scan.finish()).toEqual([{ ruleId: 'password-assignment', description: 'password assignment', line: 3 }]);
  });

  it('takes linear time on text built to make patterns backtrack', () => {
    const hostile = `${'a.'.repeat(2 * 1024 * 1024)}\n${'-'.repeat(1024 * 1024)}`;
    const started = Date.now();
    const scan = new TextSecretScan('conf/hostile.conf');
    for (let offset = 0; offset < hostile.length; offset += 65536) scan.write(hostile.slice(offset, offset + 65536));
    expect(scan.finish()).toEqual([]);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('in dev, a finding that stops staging and prod says so in the output', async () => {
    const decision = await evaluateGate({ artifact: await makeTree({ 'app/.env': 'A=1\n' }), env: 'dev' });
    expect(decision.triggers).toContainEqual(expect.objectContaining({ gate: 'sensitive_files', action: 'warn', stopsIn: ['staging', 'prod'] }));
    expect(renderDecisionText(decision)).toMatch(/WARN {3}sensitive_files\/file_name: app\/\.env.*\n {9}a warning here only: staging and prod stop on this/);
  });
});
