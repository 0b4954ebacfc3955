/**
 * Training sandbox: start-up overhead and training throughput, sandboxed against unsandboxed.
 *
 *   node bench/sandbox.ts [--starts 9] [--rows 20000] [--features 16] [--hidden 32] [--epochs 2] [--repeats 3] [--json]
 *
 * Needs a build (npm run build) and a host where the sandbox works (bubblewrap, user namespaces).
 * All in one run, each trainer a fresh process, as the agent runs it:
 *   1. start-up: the real trainer on a minimal task (8 rows, one step), --starts times sandboxed and
 *      unsandboxed, alternating (the development fallback: same trainer, same limits, no bubblewrap); the overhead
 *      is the difference of the median times to a result, and bubblewrap's own setup time is shown;
 *   2. throughput: the same task (rows x features, one hidden layer, epochs) --repeats times each
 *      way, samples/s = rows * epochs / wall time of the run (start-up included, as the agent pays it;
 *      also shown with each way's start-up median taken off), plus in-process trainLocal in this
 *      process (warm: no process start, module load or WASM compile) as the no-process baseline.
 * Target: sandboxed throughput at least 0.9 of unsandboxed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTrainerSandbox, type TrainerRequest, type TrainerSandbox } from '@medfed/node-agent/sandbox/index';
import { trainLocal } from '@medfed/node-agent/training/index';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const value = Number(args[i + 1]);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name} needs a positive integer`);
  return value;
};
const STARTS = flag('starts', 9);
const ROWS = flag('rows', 20_000);
const FEATURES = flag('features', 16);
const HIDDEN = flag('hidden', 32);
const EPOCHS = flag('epochs', 2);
const REPEATS = flag('repeats', 3);
const JSON_OUT = args.includes('--json');
const TARGET_RATIO = 0.9;
const log = (text: string) => { if (!JSON_OUT) process.stderr.write(`${text}\n`); };
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

function task(rows: number, features: number, hidden: number, epochs: number): TrainerRequest {
  const x = Float32Array.from({ length: rows * features }, (_, i) => Math.sin(i * 0.618 + 0.5));
  const y = Int32Array.from({ length: rows }, (_, i) => (x[i * features]! > 0 ? 1 : 0) + (x[i * features + 1]! > 0.3 ? 1 : 0));
  const weightCount = features * hidden + hidden + hidden * 3 + 3;
  return {
    arch: { inputs: features, hidden: [hidden], classes: 3, activation: 'relu' },
    backend: 'wasm',
    settings: { localEpochs: epochs, batchSize: 64, learningRate: 0.01, optimizer: 'adam', seed: 42 },
    globalWeights: Float32Array.from({ length: weightCount }, (_, i) => Math.cos(i * 0.37) * 0.1),
    data: { x, y, n: rows, d: features },
  };
}

/** Alternates the two ways run by run, so drift on a shared host hits both alike. */
async function timeAlternating(a: TrainerSandbox, b: TrainerSandbox, request: TrainerRequest, times: number) {
  const out = { a: { wall: [] as number[], setup: [] as number[] }, b: { wall: [] as number[], setup: [] as number[] } };
  for (let i = 0; i < times; i++) {
    for (const [sandbox, into] of [[a, out.a], [b, out.b]] as const) {
      const t = performance.now();
      const run = await sandbox.train(request);
      into.wall.push(performance.now() - t);
      if (run.usage.startMs !== undefined) into.setup.push(run.usage.startMs);
    }
  }
  return out;
}

const stageRoot = await mkdtemp(join(tmpdir(), 'medfed-bench-stage-'));
process.env.MEDFED_TRAINING_BACKEND = 'wasm';
try {
  log('preparing sandboxes (probe, trace, stage)...');
  const sandboxed = await createTrainerSandbox({ env: 'development', stageRoot });
  if (!sandboxed.sandboxed) throw new Error(`the sandbox is not available here: ${sandboxed.availability.summary}`);
  const plain = await createTrainerSandbox({ env: 'development', stageRoot, unsandboxed: true, onWarning: () => undefined });

  const tiny = task(8, 2, 2, 1);
  log(`start-up: ${STARTS} runs each of a minimal task...`);
  await sandboxed.train(tiny); // warm the page cache for both
  await plain.train(tiny);
  const starts = await timeAlternating(sandboxed, plain, tiny, STARTS);
  const startSandboxed = starts.a;
  const startPlain = starts.b;

  const big = task(ROWS, FEATURES, HIDDEN, EPOCHS);
  const samples = ROWS * EPOCHS;
  log(`throughput: ${REPEATS} runs each of ${ROWS} rows x ${FEATURES} features, hidden [${HIDDEN}], ${EPOCHS} epochs...`);
  const runs = await timeAlternating(sandboxed, plain, big, REPEATS);
  const runSandboxed = runs.a;
  const runPlain = runs.b;
  const inProcess: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const t = performance.now();
    await trainLocal(big.arch, big.globalWeights, big.data, { ...big.settings, dp: undefined });
    inProcess.push(performance.now() - t);
  }

  const result = {
    sizes: { starts: STARTS, rows: ROWS, features: FEATURES, hidden: HIDDEN, epochs: EPOCHS, repeats: REPEATS },
    startup: {
      sandboxedMedianMs: median(startSandboxed.wall),
      unsandboxedMedianMs: median(startPlain.wall),
      overheadMs: median(startSandboxed.wall) - median(startPlain.wall),
      bubblewrapSetupMedianMs: median(startSandboxed.setup),
    },
    throughput: {
      sandboxedSamplesPerSecond: samples / (median(runSandboxed.wall) / 1000),
      unsandboxedSamplesPerSecond: samples / (median(runPlain.wall) / 1000),
      inProcessSamplesPerSecond: samples / (median(inProcess) / 1000),
      ratio: median(runPlain.wall) / median(runSandboxed.wall),
      ratioToInProcess: median(inProcess) / median(runSandboxed.wall),
      // The same with each way's minimal-task time (process start, module load, WASM compile) taken off.
      sandboxedTrainingOnlySamplesPerSecond: samples / ((median(runSandboxed.wall) - median(startSandboxed.wall)) / 1000),
      unsandboxedTrainingOnlySamplesPerSecond: samples / ((median(runPlain.wall) - median(startPlain.wall)) / 1000),
      target: TARGET_RATIO,
    },
    trainerDigest: sandboxed.trainerDigest,
    policyDigest: sandboxed.policyDigest,
  };
  await plain.dispose();
  if (JSON_OUT) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    const r = result;
    const row = (name: string, value: string) => `  ${name.padEnd(44)} ${value}`;
    console.log(`\nsandbox start-up (median of ${STARTS}, minimal task, time to result)`);
    console.log(row('sandboxed (bubblewrap + seccomp + limits)', `${r.startup.sandboxedMedianMs.toFixed(1)} ms`));
    console.log(row('unsandboxed child process (same trainer)', `${r.startup.unsandboxedMedianMs.toFixed(1)} ms`));
    console.log(row('overhead of the sandbox', `${r.startup.overheadMs.toFixed(1)} ms`));
    console.log(row('  of which bubblewrap setup (spawn to trainer)', `${r.startup.bubblewrapSetupMedianMs.toFixed(1)} ms`));
    console.log(`\ntraining throughput (median of ${REPEATS}; ${ROWS} rows x ${FEATURES}, hidden [${HIDDEN}], ${EPOCHS} epochs)`);
    console.log(row('sandboxed', `${r.throughput.sandboxedSamplesPerSecond.toFixed(0)} samples/s`));
    console.log(row('unsandboxed child process', `${r.throughput.unsandboxedSamplesPerSecond.toFixed(0)} samples/s`));
    console.log(row('in-process trainLocal (no process at all)', `${r.throughput.inProcessSamplesPerSecond.toFixed(0)} samples/s`));
    console.log(row('sandboxed, start-up taken off', `${r.throughput.sandboxedTrainingOnlySamplesPerSecond.toFixed(0)} samples/s`));
    console.log(row('unsandboxed, start-up taken off', `${r.throughput.unsandboxedTrainingOnlySamplesPerSecond.toFixed(0)} samples/s`));
    console.log(row('ratio sandboxed / unsandboxed', `${r.throughput.ratio.toFixed(3)} (target >= ${TARGET_RATIO}: ${r.throughput.ratio >= TARGET_RATIO ? 'met' : 'NOT met'})`));
    console.log(row('ratio sandboxed / in-process', r.throughput.ratioToInProcess.toFixed(3)));
  }
} finally {
  const { chmod, readdir, lstat } = await import('node:fs/promises');
  const open = async (p: string): Promise<void> => {
    if (!(await lstat(p).catch(() => undefined))?.isDirectory()) return;
    await chmod(p, 0o755);
    for (const name of await readdir(p)) await open(join(p, name));
  };
  await open(stageRoot);
  await rm(stageRoot, { recursive: true, force: true });
}
