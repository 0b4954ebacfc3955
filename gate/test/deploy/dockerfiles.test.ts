import { describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { findSensitiveFiles, readArtifact } from '../../src/index.js';
import { wantsContent } from '../../src/sensitive/find-sensitive-files.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const IMAGES = ['coordinator', 'agent'] as const;

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** Dockerfile instructions with continuation lines joined and comments dropped. */
function instructions(text: string): Instruction[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

describe.each(IMAGES)('deploy/docker/%s.Dockerfile', (image) => {
  const load = async () => instructions(await readFile(`${ROOT}deploy/docker/${image}.Dockerfile`, 'utf8'));

  it('is multi-stage, every stage built on the node base pinned by digest', async () => {
    const steps = await load();
    const from = steps.filter((step) => step.keyword === 'FROM');
    expect(from.length).toBeGreaterThanOrEqual(2);
    const base = steps.find((step) => step.keyword === 'ARG' && step.args.startsWith('NODE_IMAGE='));
    expect(base?.args).toMatch(/^NODE_IMAGE=[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}$/);
    for (const stage of from) expect(stage.args).toMatch(/^\$\{NODE_IMAGE\} AS \w+$/);
  });

  it('runs the final stage as a non-root numeric user', async () => {
    const steps = await load();
    const finalStage = steps.slice(steps.map((step) => step.keyword).lastIndexOf('FROM'));
    const users = finalStage.filter((step) => step.keyword === 'USER');
    expect(users.at(-1)?.args).toMatch(/^[1-9]\d*:[1-9]\d*$/);
  });

  it('puts no secrets in layers: no secret-like ENV/ARG, no COPY of the whole context', async () => {
    const steps = await load();
    for (const step of steps.filter((candidate) => candidate.keyword === 'ENV' || candidate.keyword === 'ARG')) {
      expect(step.args).not.toMatch(/(PASSWORD|SECRET|TOKEN|PRIVATE|CREDENTIAL|_KEY)\s*=/i);
    }
    for (const step of steps.filter((candidate) => candidate.keyword === 'COPY' && !candidate.args.startsWith('--from'))) {
      expect(step.args).not.toMatch(/^\.\s/);
    }
    const ignore = await readFile(`${ROOT}deploy/docker/${image}.Dockerfile.dockerignore`, 'utf8');
    for (const pattern of ['**/.env', '**/*.pem', '**/*.key', '**/.git', '**/.npmrc']) expect(ignore.split('\n')).toContain(pattern);
  });

  it('strips the package manager from the runtime image', async () => {
    const steps = await load();
    const finalStage = steps.slice(steps.map((step) => step.keyword).lastIndexOf('FROM'));
    expect(finalStage.some((step) => step.keyword === 'RUN' && step.args.includes('rm -rf /usr/local/lib/node_modules/npm'))).toBe(true);
  });
});

describe('agent image', () => {
  it('installs bubblewrap in the runtime stage', async () => {
    const steps = instructions(await readFile(`${ROOT}deploy/docker/agent.Dockerfile`, 'utf8'));
    const finalStage = steps.slice(steps.map((step) => step.keyword).lastIndexOf('FROM'));
    expect(finalStage.some((step) => step.keyword === 'RUN' && /apt-get install .*bubblewrap/.test(step.args))).toBe(true);
  });
});

describe('committed deployment and gate files hold nothing that looks like a secret', () => {
  it.each(['deploy', 'gate/policies', 'gate/test/vulns/fixtures', 'gate/test/policy/fixtures', '.github'])('%s', async (folder) => {
    const inventory = await readArtifact(`${ROOT}${folder}`, { wantContent: wantsContent });
    expect(inventory.entries.length).toBeGreaterThan(0);
    expect(findSensitiveFiles(inventory.entries)).toEqual([]);
  });
});
