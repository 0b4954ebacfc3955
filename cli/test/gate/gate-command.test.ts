import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { artifactDigest, signDigest } from '@medfed/gate';
import { register, type GateIo } from '../../src/commands/gate.js';

const LAUNCHER = fileURLToPath(new URL('./support/gate-cli.mjs', import.meta.url));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `medfed <args>` as a separate process, to observe the real exit status. */
function medfed(args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [LAUNCHER, ...args], { cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs the command in this process through commander, with captured output. */
async function medfedInProcess(args: readonly string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  let code = -1;
  const io: GateIo = { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text), exit: (value) => void (code = value) };
  const program = new Command('medfed');
  register(program, io);
  await program.parseAsync(['node', 'medfed', ...args]);
  return { code, stdout, stderr };
}

let work: string;
let artifact: string;
let digest: string;
const keys = generateKeyPairSync('ed25519');

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'medfed-gate-cli-'));
  artifact = join(work, 'artifact');
  await mkdir(join(artifact, 'app'), { recursive: true });
  await writeFile(join(artifact, 'app/server.js'), "console.log('medfed');\n");
  digest = await artifactDigest(artifact);
  await writeFile(join(work, 'cosign.pub'), keys.publicKey.export({ type: 'spki', format: 'pem' }));
  await writeFile(join(work, 'signing.pem'), keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await writeFile(join(work, 'artifact.sig'), `${signDigest(digest, keys.privateKey)}\n`);
  await writeFile(
    join(work, 'trivy.json'),
    JSON.stringify({
      SchemaVersion: 2,
      ArtifactName: `registry.example/medfed@${digest}`,
      ArtifactType: 'container_image',
      Metadata: { ImageID: digest, RepoDigests: [`registry.example/medfed@${digest}`] },
      Results: [{ Target: 'medfed (debian 12.8)', Class: 'os-pkgs', Type: 'debian', Vulnerabilities: null }],
    }),
  );
  await writeFile(
    join(work, 'sbom.cdx.json'),
    JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', components: [{ name: 'fastify', version: '5.2.0', licenses: [{ license: { id: 'MIT' } }] }] }),
  );
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const fullInputs = () => ['--artifact', artifact, '--vuln-report', 'trivy.json', '--sbom', 'sbom.cdx.json', '--signature', 'artifact.sig', '--key', 'cosign.pub'];

describe('medfed gate evaluate: exit codes of the real process', () => {
  it('0 for allow', async () => {
    const run = await medfed(['gate', 'evaluate', ...fullInputs(), '--env', 'prod'], work);
    expect(run.stdout).toMatch(/decision: ALLOW/);
    expect(run.code).toBe(0);
  });

  it('1 for warn', async () => {
    await writeFile(join(artifact, '.env'), 'NODE_ENV=production\n');
    try {
      const run = await medfed(['gate', 'evaluate', '--artifact', artifact, '--env', 'dev'], work);
      expect(run.stdout).toMatch(/WARN\s+sensitive_files\/file_name: \.env/);
      expect(run.code).toBe(1);
    } finally {
      await rm(join(artifact, '.env'));
    }
  });

  it('2 for stop', async () => {
    const run = await medfed(['gate', 'evaluate', '--artifact', artifact, '--env', 'prod'], work);
    expect(run.stdout).toMatch(/STOP\s+signature\/missing/);
    expect(run.code).toBe(2);
  });

  it.each([
    ['an unknown option', ['gate', 'evaluate', '--artifact', 'artifact', '--env', 'dev', '--no-such-flag'], /unknown option/],
    ['a missing --artifact', ['gate', 'evaluate', '--env', 'dev'], /--artifact <path>' not specified/],
    ['a missing option value', ['gate', 'evaluate', '--env', 'dev', '--artifact'], /argument missing/],
    ['an invalid --env', ['gate', 'evaluate', '--artifact', 'artifact', '--env', 'production'], /Allowed choices are dev, staging, prod/],
    ['an unexpected argument', ['gate', 'evaluate', '--artifact', 'artifact', '--env', 'dev', 'extra'], /too many arguments|unknown command|excess/i],
    ['no subcommand', ['gate'], /Usage: medfed gate/],
  ])('2 for %s (commander usage error)', async (_name, args, message) => {
    const run = await medfed(args, work);
    expect(run.stderr).toMatch(message);
    expect(run.code).toBe(2);
  });

  it('2 for --signature without --key, with a JSON error document under --json', async () => {
    const run = await medfed(['gate', 'evaluate', '--artifact', artifact, '--env', 'prod', '--signature', 'artifact.sig', '--json'], work);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toEqual({ decision: 'stop', env: 'prod', triggers: [], error: { code: 'GATE_USAGE', message: expect.stringContaining('--key') } });
  });

  it('2 for an unreadable artifact, reported as an input trigger', async () => {
    const run = await medfed(['gate', 'evaluate', '--artifact', 'does-not-exist', '--env', 'dev', '--json'], work);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout).triggers).toEqual([expect.objectContaining({ gate: 'input', trigger: 'artifact', code: 'GATE_INPUT_UNREADABLE' })]);
  });

  it('0 for --help, with every option listed', async () => {
    const run = await medfed(['gate', 'evaluate', '--help'], work);
    expect(run.code).toBe(0);
    for (const flag of ['--policy', '--artifact', '--vuln-report', '--sbom', '--signature', '--key', '--env', '--json']) expect(run.stdout).toContain(flag);
  });
});

describe('medfed gate evaluate --json', () => {
  it('prints the decision document', async () => {
    const run = await medfedInProcess(['gate', 'evaluate', '--artifact', artifact, '--env', 'prod', '--json']);
    expect(run.code).toBe(2);
    const document = JSON.parse(run.stdout);
    expect(document).toEqual({
      decision: 'stop',
      env: 'prod',
      artifactDigest: digest,
      artifactKind: 'directory',
      imageDigests: [],
      policy: { name: 'medfed-default', source: expect.stringMatching(/default\.yaml$/), digest: expect.stringMatching(/^sha256:/) },
      evaluatedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      triggers: expect.any(Array),
      summary: { stop: 2, warn: 1, exempted: 0 },
    });
    for (const trigger of document.triggers) {
      expect(Object.keys(trigger).sort()).toEqual(['action', 'exemptedBy', 'expiredExemptions', 'gate', 'message', 'subject', 'trigger']);
    }
    expect(document.triggers.map((trigger: { gate: string; trigger: string }) => `${trigger.gate}/${trigger.trigger}`).sort()).toEqual([
      'sbom/missing',
      'signature/missing',
      'vulnerabilities/report_missing',
    ]);
  });

  it('runs the same code path in-process and as a process', async () => {
    const args = ['gate', 'evaluate', ...fullInputs().map((value) => (value.endsWith('.json') || value.endsWith('.sig') || value.endsWith('.pub') ? join(work, value) : value)), '--env', 'prod', '--json'];
    const inProcess = await medfedInProcess(args);
    const spawned = await medfed(args, work);
    const strip = (text: string) => ({ ...JSON.parse(text), evaluatedAt: null });
    expect(inProcess.code).toBe(0);
    expect(strip(spawned.stdout)).toEqual(strip(inProcess.stdout));
  });
});

describe('medfed gate digest and sign', () => {
  it('digest prints the artifact digest', async () => {
    const run = await medfed(['gate', 'digest', '--artifact', artifact], work);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(digest);
  });

  it('sign produces a signature that evaluate accepts', async () => {
    const run = await medfedInProcess(['gate', 'sign', '--artifact', artifact, '--key', join(work, 'signing.pem'), '--output', join(work, 'fresh.sig')]);
    expect(run.code).toBe(0);
    const verdict = await medfedInProcess(['gate', 'evaluate', '--artifact', artifact, '--env', 'dev', '--signature', join(work, 'fresh.sig'), '--key', join(work, 'cosign.pub'), '--json']);
    expect(JSON.parse(verdict.stdout).triggers).toEqual([]);
    expect((await readFile(join(work, 'fresh.sig'), 'utf8')).trim()).toMatch(/^[A-Za-z0-9+/]+=*$/);
  });

  it('digest of a missing artifact exits with DATA (4)', async () => {
    const run = await medfedInProcess(['gate', 'digest', '--artifact', join(work, 'nope')]);
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/GATE_INPUT_UNREADABLE/);
  });
});
