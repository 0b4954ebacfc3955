import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTrainerSandbox, sandboxAvailability, type TrainerSandboxOptions } from '../../src/sandbox/index.js';
import { trainLocal } from '../../src/training/index.js';
import { fixture, removeSealed, request } from './support.js';
import { requireBinary } from '../../../test/support/require-binary.js';

// Real bubblewrap, real processes. Each hostile trainer runs inside the same runner, policy and
// guard as the real one; only the entry script differs.
let stageRoot: string;
let stateDir: string;
const base = (): Pick<TrainerSandboxOptions, 'env' | 'stageRoot' | 'limits'> => ({ env: 'production', stageRoot, limits: { memoryBytes: 2 * 1024 ** 3, wallMs: 60_000 } });

beforeAll(async () => {
  process.env.MEDFED_TRAINING_BACKEND = 'wasm';
  stageRoot = await mkdtemp(join(tmpdir(), 'medfed-stage-test-'));
  stateDir = await mkdtemp(join(tmpdir(), 'medfed-agent-state-'));
});
afterAll(async () => {
  await removeSealed(stageRoot);
  await removeSealed(stateDir);
});

describe('sandbox availability', () => {
  it('finds bubblewrap, prlimit and a seccomp filter, and starts Node.js in every namespace', async () => {
    requireBinary('bwrap', 'bubblewrap');
    requireBinary('prlimit', 'util-linux');
    const availability = await sandboxAvailability();
    expect(availability.checks.map((c) => [c.name, c.ok])).toEqual([
      ['platform', true], ['node', true], ['bubblewrap', true], ['prlimit', true], ['seccomp', true], ['trainer', true], ['namespaces', true],
    ]);
    expect(availability.available).toBe(true);
  });

  it('says what to install when bubblewrap is missing; production refuses, development falls back loudly', async () => {
    const missing = await sandboxAvailability({ bwrap: '/nonexistent/bwrap' });
    expect(missing.available).toBe(false);
    expect(missing.summary).toMatch(/bubblewrap: bwrap not found.*Fix: Install bubblewrap/);
    await expect(createTrainerSandbox({ ...base(), bwrapPath: '/nonexistent/bwrap' })).rejects.toMatchObject({ code: 'SANDBOX_UNAVAILABLE' });

    const warnings: string[] = [];
    const dev = await createTrainerSandbox({ ...base(), env: 'development', bwrapPath: '/nonexistent/bwrap', entryFile: fixture('echo-trainer.mjs'), onWarning: (m) => warnings.push(m) });
    expect(dev.sandboxed).toBe(false);
    expect(dev.policy.engine).toBe('none');
    expect(warnings.join('\n')).toMatch(/TRAINING UNSANDBOXED/);
    const run = await dev.train(request());
    expect(Array.from(run.result.weights)).toEqual(Array.from(request().globalWeights));
    await dev.dispose();
  });
});

describe('the honest trainer', () => {
  it('returns the same weights as an unsandboxed run with the same seed, and its usage', async () => {
    const sandbox = await createTrainerSandbox(base());
    expect(sandbox.sandboxed).toBe(true);
    expect(sandbox.policy.engine).toBe('bubblewrap');
    expect(sandbox.trainerDigest).toMatch(/^[0-9a-f]{64}$/);
    const req = request();
    const run = await sandbox.train(req);
    const local = await trainLocal(req.arch, req.globalWeights, req.data, { ...req.settings, dp: undefined });
    expect(Array.from(run.result.weights)).toEqual(Array.from(local.weights));
    expect(run.result.loss).toBeCloseTo(local.loss, 6);
    expect(run.result.numSamples).toBe(req.data.n);
    expect(run.breaches).toEqual([]);
    expect(run.usage.cpuMs).toBeGreaterThan(0);
    expect(run.usage.peakRssBytes).toBeGreaterThan(10 * 1024 * 1024);

    const unsandboxed = await createTrainerSandbox({ ...base(), env: 'development', unsandboxed: true, onWarning: () => undefined });
    expect(unsandboxed.sandboxed).toBe(false);
    expect(unsandboxed.trainerDigest).toBe(sandbox.trainerDigest);
    expect(Array.from((await unsandboxed.train(req)).result.weights)).toEqual(Array.from(run.result.weights));
    await unsandboxed.dispose();
  });

  it('reports a CPU budget overrun without stopping the trainer (non-fatal by default)', async () => {
    const sandbox = await createTrainerSandbox({ ...base(), thresholds: { cpuBudgetMs: 1, sampleIntervalMs: 20 } });
    const run = await sandbox.train(request({ n: 2000 }));
    expect(run.result.weights.length).toBe(request().globalWeights.length);
    expect(run.breaches).toEqual([expect.objectContaining({ kind: 'cpu', fatal: false })]);
  });

  it('trains with the WebAssembly backend under the smallest memory limit (768 MiB of RLIMIT_DATA)', async () => {
    const sandbox = await createTrainerSandbox({ ...base(), limits: { memoryBytes: 768 * 1024 * 1024, wallMs: 60_000 } });
    const run = await sandbox.train(request({ n: 2000 }));
    expect(run.result.weights.every(Number.isFinite)).toBe(true);
    expect(sandbox.policy.command).toContain(`--data=${768 * 1024 * 1024}:${768 * 1024 * 1024}`);
  });

  it('runs DP-SGD with noise drawn inside the sandbox from the secure source', async () => {
    const sandbox = await createTrainerSandbox(base());
    const req = request();
    const dp = { ...req, settings: { ...req.settings, dp: { clipNorm: 1, noiseMultiplier: 1.1, sampleRate: 0.1 } } };
    const [a, b] = [await sandbox.train(dp), await sandbox.train(dp)];
    expect(a.result.weights.every(Number.isFinite)).toBe(true);
    expect(a.result.steps).toBe(2 * 10); // localEpochs * ceil(1 / sampleRate) Poisson steps
    expect(Array.from(a.result.weights)).not.toEqual(Array.from(b.result.weights)); // fresh noise each run
  });

  it('may write in its scratch directory', async () => {
    const sandbox = await createTrainerSandbox({ ...base(), entryFile: fixture('echo-trainer.mjs') });
    const run = await sandbox.train(request());
    expect(run.breaches).toEqual([]);
  });
});

describe('hostile trainers are stopped and reported', () => {
  const cases: [string, string, Partial<TrainerSandboxOptions>, RegExp][] = [
    ['opens a socket', 'open-socket.mjs', {}, /SIGSYS/],
    ['forks without bound (permission model)', 'fork-bomb.mjs', {}, /ChildProcess/],
    ['forks without bound (kernel process limit)', 'fork-bomb.mjs', { allowChildProcesses: true, limits: { processes: 24, memoryBytes: 2 * 1024 ** 3, wallMs: 60_000 } }, /EAGAIN/],
    ['allocates past its memory limit', 'memory-hog.mjs', { limits: { memoryBytes: 1024 ** 3, wallMs: 60_000 } }, /memory|allocation/i],
    ['burns CPU past its limit', 'cpu-spin.mjs', { limits: { cpuSeconds: 1, memoryBytes: 2 * 1024 ** 3, wallMs: 60_000 } }, /SIGXCPU/],
    ['never answers', 'sleeper.mjs', { limits: { wallMs: 1500, memoryBytes: 2 * 1024 ** 3 } }, /wall-time limit of 1500 ms/],
    ['writes garbage on the channel', 'garbage-stdout.mjs', {}, /protocol: .*not a frame/],
    ['claims more samples than it was given', 'inflated-samples.mjs', {}, /numSamples 2400 differs from the 240 rows/],
  ];
  const kinds: Record<string, string> = {
    'open-socket.mjs': 'network', 'fork-bomb.mjs': 'fork', 'memory-hog.mjs': 'memory', 'cpu-spin.mjs': 'cpu',
    'sleeper.mjs': 'wall', 'garbage-stdout.mjs': 'exit', 'inflated-samples.mjs': 'exit',
  };

  it.each(cases)('a trainer that %s', async (_what, file, options, detail) => {
    const sandbox = await createTrainerSandbox({ ...base(), ...options, entryFile: fixture(file) });
    const err = await sandbox.train(request()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SANDBOX_BREACH', details: { breach: { kind: kinds[file], fatal: true } } });
    expect((err as { details: { breach: { detail: string } } }).details.breach.detail).toMatch(detail);
  });

  it("reads a key file outside its mounts (the agent's identity key)", async () => {
    const key = join(stateDir, 'identity.jwk');
    await writeFile(key, '{"kty":"OKP","d":"secret"}', { mode: 0o600 });
    const sandbox = await createTrainerSandbox({ ...base(), entryFile: fixture('read-outside.mjs') });
    const outcome = await sandbox.run(request({ target: key }));
    expect(outcome.breach).toMatchObject({ kind: 'read', fatal: true });
    expect(outcome.breach!.detail).toContain(key);
    expect(outcome.stderrTail).not.toContain('secret');
    expect(sandbox.policy.mounts.some((m) => 'src' in m && m.src.startsWith(stateDir))).toBe(false);
  });

  it('writes to the dataset, even when it swallows the error and answers normally', async () => {
    const dataset = join(stateDir, 'site.csv');
    await writeFile(dataset, 'age,label\n50,1\n');
    const sandbox = await createTrainerSandbox({ ...base(), entryFile: fixture('write-dataset.mjs') });
    const outcome = await sandbox.run(request({ target: dataset }));
    expect(outcome.result).toBeUndefined();
    expect(outcome.breach).toMatchObject({ kind: 'write', fatal: true });
    expect(await readFile(dataset, 'utf8')).toBe('age,label\n50,1\n');
  });
});

describe('policy and measurement', () => {
  it('digests the applied policy, which names every bind, limit and the seccomp program', async () => {
    const a = await createTrainerSandbox({ ...base(), entryFile: fixture('echo-trainer.mjs') });
    const b = await createTrainerSandbox({ ...base(), entryFile: fixture('echo-trainer.mjs') });
    const c = await createTrainerSandbox({ ...base(), entryFile: fixture('echo-trainer.mjs'), limits: { memoryBytes: 3 * 1024 ** 3 } });
    expect(a.policyDigest).toBe(b.policyDigest);
    expect(c.policyDigest).not.toBe(a.policyDigest);
    expect(a.policy.namespaces).toEqual(['user', 'ipc', 'pid', 'net', 'uts', 'cgroup']);
    expect(a.policy.options).toEqual(expect.arrayContaining(['die-with-parent', 'new-session', 'clearenv']));
    expect(a.policy.seccomp).toMatchObject({ killProcess: expect.arrayContaining(['socket(family != AF_UNIX)']), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(a.policy.mounts.filter((m) => m.op === 'tmpfs')).toEqual([{ op: 'tmpfs', dest: '/scratch', sizeBytes: 64 * 1024 * 1024, mode: '0700' }]);
    expect(a.policy.mounts.at(-1)).toEqual({ op: 'remount-ro', dest: '/' });
    // The trainer digest covers the entry script: another script is another build.
    const honest = await createTrainerSandbox(base());
    expect(a.trainerDigest).toBe(b.trainerDigest);
    expect(honest.trainerDigest).not.toBe(a.trainerDigest);
    expect(honest.bundle.listing).toContain(' node-agent/dist/sandbox/trainer-main.js\n');
    expect(honest.bundle.listing).toMatch(/^F [0-9a-f]{64} runtime\/node$/m);
  });
});
