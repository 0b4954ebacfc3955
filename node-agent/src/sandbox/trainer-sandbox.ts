import { chmod, chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { sandboxAvailability, type SandboxAvailability } from './availability.js';
import type { Breach } from './breach.js';
import { policyFor, type PolicyInputs } from './build-policy.js';
import { SandboxError } from './errors.js';
import { compiledTrainerPresent, installRoot, TRAINER_FILES } from './install-root.js';
import { resolveLimits, resolveThresholds, type MonitorThresholds, type SandboxLimits } from './limits.js';
import { bwrapArguments, policyDigest, type SandboxPolicy } from './policy.js';
import type { Frame } from './protocol/frames.js';
import { encodeTrainerRequest, type TrainerBackend, type TrainerRequest, type TrainerResult } from './protocol/messages.js';
import { resolveRunAs } from './run-as.js';
import { runTrainer, type TrainerLaunch, type TrainerOutcome, type TrainerUsage } from './run-trainer.js';
import { SANDBOX_PATHS } from './runtime-binds.js';
import { buildSeccompFilter, type SeccompFilter } from './seccomp/filter.js';
import { bundleFileSet, stageTrainerBundle, type TrainerBundle } from './trainer-bundle.js';
import { traceTrainerFiles } from './trace-trainer.js';

export type AgentEnv = 'production' | 'development';

export interface TrainerSandboxOptions {
  /** production: refuse to train without a working sandbox. development: fall back to an unsandboxed trainer, loudly. */
  readonly env: AgentEnv;
  readonly limits?: Partial<SandboxLimits>;
  readonly thresholds?: MonitorThresholds;
  /** TensorFlow.js backend inside the trainer (default wasm). */
  readonly backend?: TrainerBackend;
  /** Where staged trainer bundles live (default <tmpdir>/medfed-trainer-<uid>); must be readable by the sandbox user. */
  readonly stageRoot?: string;
  /** Host user that starts the sandbox; default: nobody when the agent is root, else the agent's user. null keeps the agent's. */
  readonly runAs?: { readonly uid: number; readonly gid: number } | null;
  /** Run without the sandbox even though it is available (development only: benchmarks, debugging). */
  readonly unsandboxed?: boolean;
  /** A different trainer script (tests, benchmarks): staged into the bundle as fixtures/<name> and run instead of trainer-main. */
  readonly entryFile?: string;
  /** bubblewrap and prlimit binaries when not on PATH. */
  readonly bwrapPath?: string;
  readonly prlimitPath?: string;
  /**
   * Let the trainer start child processes (Node.js permission model --allow-child-process); they stay
   * inside the sandbox and under limits.processes. Off by default: the trainer needs none.
   */
  readonly allowChildProcesses?: boolean;
  /** Receives the loud warning of the unsandboxed fallback (default: process.emitWarning). */
  readonly onWarning?: (message: string) => void;
}

/** One finished training run. */
export interface SandboxRun {
  readonly result: TrainerResult;
  readonly usage: TrainerUsage;
  /** Non-fatal breaches (budget overruns) for the audit trail. */
  readonly breaches: readonly Breach[];
}

/** What a run produced, without throwing: `breach` set means the output was discarded. */
export interface SandboxOutcome {
  readonly result: TrainerResult | undefined;
  readonly breach: Breach | undefined;
  readonly breaches: readonly Breach[];
  readonly usage: TrainerUsage;
  /** An error the trainer reported (its own code and message; untrusted). */
  readonly trainerError: { readonly code: string; readonly message: string } | undefined;
  readonly stderrTail: string;
}

export interface TrainerSandbox {
  /** false in the development fallback; the attestation must then say sandboxed: false. */
  readonly sandboxed: boolean;
  readonly policy: SandboxPolicy;
  /** The attestation's sandboxPolicyDigest. */
  readonly policyDigest: string;
  readonly bundle: TrainerBundle;
  /** The attestation's trainerDigest. */
  readonly trainerDigest: string;
  readonly availability: SandboxAvailability;
  /** Runs the trainer and returns its result; throws SandboxError on a fatal breach or trainer error. */
  train(request: TrainerRequest): Promise<SandboxRun>;
  /** Runs the trainer and reports everything, throwing only if it cannot start. */
  run(request: TrainerRequest): Promise<SandboxOutcome>;
  /** Removes the private scratch directory of the unsandboxed fallback (the staged bundle stays for reuse). */
  dispose(): Promise<void>;
}

const traces = new Map<string, Promise<string[]>>();

const LOUD_WARNING = [
  '',
  '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
  '!! medfed: TRAINING UNSANDBOXED (development mode).                         !!',
  '!! The trainer runs without namespaces, read-only mounts or seccomp: it can  !!',
  '!! reach the network and every file this user can. Attestations say          !!',
  '!! sandboxed: false and a production coordinator refuses these updates.      !!',
  '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
].join('\n');

/**
 * Prepares the trainer sandbox once per agent: probes the host, traces and stages the trainer
 * bundle, builds the policy and its digest. In production a host without a working sandbox is
 * refused (SANDBOX_UNAVAILABLE, with what to change); in development the trainer then runs
 * unsandboxed with a loud warning.
 */
export async function createTrainerSandbox(options: TrainerSandboxOptions): Promise<TrainerSandbox> {
  if (options.env !== 'production' && options.env !== 'development') {
    throw new SandboxError('SANDBOX_POLICY_INVALID', `env must be "production" or "development", got ${JSON.stringify(options.env)}`);
  }
  const limits = resolveLimits(options.limits);
  const thresholds = resolveThresholds(options.thresholds);
  const backend = options.backend ?? 'wasm';
  const root = installRoot();
  if (!compiledTrainerPresent(root)) {
    throw new SandboxError('SANDBOX_BUNDLE_INVALID', `the compiled trainer is missing under ${root}/node-agent/dist/sandbox; run npm run build`);
  }
  const availability = await sandboxAvailability({
    ...(options.bwrapPath !== undefined ? { bwrap: options.bwrapPath } : {}),
    ...(options.prlimitPath !== undefined ? { prlimit: options.prlimitPath } : {}),
  });
  if (!availability.available && options.env === 'production') {
    throw new SandboxError('SANDBOX_UNAVAILABLE', `refusing to train: ${availability.summary}`, { checks: availability.checks });
  }
  if (options.unsandboxed && options.env === 'production') {
    throw new SandboxError('SANDBOX_POLICY_INVALID', 'unsandboxed training is a development option; production agents always sandbox');
  }
  const sandboxed = availability.available && options.unsandboxed !== true;
  if (!sandboxed) (options.onWarning ?? ((m: string) => process.emitWarning(m, { code: 'MEDFED_UNSANDBOXED' })))(LOUD_WARNING);

  const runAs = resolveRunAs(options.runAs);
  const seccomp = sandboxed ? buildSeccompFilter() : undefined;
  const scratchHost = sandboxed ? undefined : await privateScratch(runAs);
  const base: Omit<PolicyInputs, 'trainerSource' | 'preload' | 'entry'> = {
    sandboxed, limits, backend, prlimit: availability.prlimit, runAs, seccomp: seccomp?.summary,
    disableUserns: availability.disableUserns, scratchHost, allowChildProcesses: options.allowChildProcesses === true,
  };
  const launchFor = (policy: SandboxPolicy): TrainerLaunch => launchOf(policy, availability, seccomp);

  const traceKey = JSON.stringify({ root, sandboxed, backend, runAs });
  let traced = traces.get(traceKey);
  if (traced === undefined) {
    traced = traceTrainerFiles({
      launch: (preload) => launchFor(policyFor({ ...base, limits: resolveLimits(), trainerSource: root, preload, entry: TRAINER_FILES.entry })),
      hostRoot: root,
      trainerRootSeen: sandboxed ? SANDBOX_PATHS.trainer : root,
      // The trace is our own code on a synthetic task: default limits, whatever a caller set for its jobs.
      limits: resolveLimits(),
      thresholds: resolveThresholds(),
      backend,
    });
    traces.set(traceKey, traced);
    traced.catch(() => traces.delete(traceKey));
  }
  const fileSet = await bundleFileSet(root, await traced);
  const entry = options.entryFile === undefined ? TRAINER_FILES.entry : `fixtures/${basename(options.entryFile)}`;
  const bundle = await stageTrainerBundle({
    root,
    files: fileSet.files,
    symlinks: fileSet.symlinks,
    extraFiles: options.entryFile === undefined ? [] : [{ src: options.entryFile, path: entry }],
    runtime: [
      { path: 'runtime/node', binary: process.execPath },
      ...(availability.prlimit ? [{ path: 'runtime/prlimit', binary: availability.prlimit }] : []),
    ],
    stageRoot: options.stageRoot ?? join(tmpdir(), `medfed-trainer-${typeof process.getuid === 'function' ? process.getuid() : 'user'}`),
  });
  const policy = policyFor({ ...base, trainerSource: bundle.dir, preload: [TRAINER_FILES.guard], entry });
  const launch = launchFor(policy);

  const run = async (request: TrainerRequest): Promise<SandboxOutcome> => {
    const maxFrameBytes = 1024 * 1024 + request.globalWeights.length * 4 * 2;
    try {
      const outcome = await runTrainer(launch, encodeTrainerRequest({ ...request, backend }), { limits, thresholds, maxFrameBytes });
      return interpret(outcome, request);
    } finally {
      if (scratchHost !== undefined) await emptyDirectory(scratchHost);
    }
  };
  return {
    sandboxed,
    policy,
    policyDigest: policyDigest(policy),
    bundle,
    trainerDigest: bundle.digest,
    availability,
    run,
    async dispose() {
      if (scratchHost !== undefined) await rm(scratchHost, { recursive: true, force: true });
    },
    async train(request) {
      const outcome = await run(request);
      if (outcome.breach !== undefined) {
        throw new SandboxError('SANDBOX_BREACH', `the trainer was stopped: ${outcome.breach.kind}: ${outcome.breach.detail}`, { breach: outcome.breach, breaches: outcome.breaches, usage: outcome.usage });
      }
      if (outcome.trainerError !== undefined || outcome.result === undefined) {
        const e = outcome.trainerError ?? { code: 'TRAINER_NO_RESULT', message: 'no result' };
        throw new SandboxError('SANDBOX_TRAINER_FAILED', `the trainer failed: ${e.code}: ${e.message}`, { trainerCode: e.code, breaches: outcome.breaches, usage: outcome.usage });
      }
      return { result: outcome.result, usage: outcome.usage, breaches: outcome.breaches };
    },
  };
}

function launchOf(policy: SandboxPolicy, availability: SandboxAvailability, seccomp: SeccompFilter | undefined): TrainerLaunch {
  if (policy.engine === 'bubblewrap') {
    return {
      file: availability.bwrap!,
      args: bwrapArguments(policy, { status: 3, seccomp: 4 }),
      sandboxed: true,
      ...(seccomp ? { seccompProgram: seccomp.program } : {}),
      runAs: policy.runAs,
      env: {},
      cwd: '/',
    };
  }
  const [file, ...args] = policy.command;
  return { file: file!, args, sandboxed: false, runAs: policy.runAs, env: policy.env, cwd: policy.env.HOME ?? '/' };
}

/**
 * Turns a finished run into the caller's view. The trainer's reply is untrusted input: the weights
 * must be finite and fit the model, the metrics must be numbers in range, and the sample count must
 * be the agent's own (a trainer cannot inflate its weight in the aggregate).
 */
function interpret(outcome: TrainerOutcome, request: TrainerRequest): SandboxOutcome {
  const common = { breaches: outcome.breaches, usage: outcome.usage, stderrTail: outcome.exit.stderrTail };
  if (outcome.fatal !== undefined) return { ...common, result: undefined, breach: outcome.fatal, trainerError: undefined };
  const error = outcome.frames.find((f) => f.header.type === 'error');
  if (error !== undefined) {
    return { ...common, result: undefined, breach: undefined, trainerError: { code: String(error.header.code).slice(0, 64), message: String(error.header.message).slice(0, 2000) } };
  }
  const reply = outcome.frames.find((f) => f.header.type === 'result');
  const problem = reply === undefined ? 'no result frame' : resultProblem(reply, request);
  if (problem !== undefined) {
    const breach: Breach = { kind: 'exit', detail: `protocol: ${problem}`, fatal: true };
    return { ...common, breaches: [...outcome.breaches, breach], result: undefined, breach, trainerError: undefined };
  }
  const h = reply!.header;
  const result: TrainerResult = {
    weights: reply!.blobs.weights as Float32Array,
    loss: h.loss as number,
    accuracy: h.accuracy as number,
    numSamples: request.data.n,
    steps: h.steps as number,
  };
  return { ...common, result, breach: undefined, trainerError: undefined };
}

function resultProblem(frame: Frame, request: TrainerRequest): string | undefined {
  const h = frame.header;
  const weights = frame.blobs.weights;
  if (!(weights instanceof Float32Array) || weights.length !== request.globalWeights.length) {
    return `the result must carry ${request.globalWeights.length} f32 weights, got ${weights instanceof Float32Array ? weights.length : 'none'}`;
  }
  if (!weights.every(Number.isFinite)) return 'the result weights contain non-finite values';
  if (typeof h.loss !== 'number' || !Number.isFinite(h.loss) || h.loss < 0) return `loss ${String(h.loss)} is not a finite number >= 0`;
  if (typeof h.accuracy !== 'number' || !(h.accuracy >= 0 && h.accuracy <= 1)) return `accuracy ${String(h.accuracy)} is not in [0, 1]`;
  if (h.numSamples !== request.data.n) return `numSamples ${String(h.numSamples)} differs from the ${request.data.n} rows sent`;
  if (typeof h.steps !== 'number' || !Number.isSafeInteger(h.steps) || h.steps < 0) return `steps ${String(h.steps)} is not a non-negative integer`;
  return undefined;
}

async function privateScratch(runAs: { uid: number; gid: number } | null): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'medfed-scratch-'));
  if (runAs !== null) await chown(dir, runAs.uid, runAs.gid);
  await chmod(dir, 0o700);
  return dir;
}

async function emptyDirectory(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [])) await rm(join(dir, name), { recursive: true, force: true });
}
