// Synchronous against semi-asynchronous rounds with one slow site: each run is a real, encrypted
// `medfed simulate` (coordinator, agents, encryption) as a child process of the built CLI, over 4
// training sites of which the last trains --slow-factor times as long. Per seed, a synchronous run
// (every round waits for the slow site) and a semi-asynchronous one (--close-after 3: a round closes at
// the first three updates; the slow site's update counts late, discounted by its staleness, or is
// dropped when staler than --max-staleness). Per mode: training rounds per minute and final held-out
// accuracy (mean ± sample sd over the seeds), late updates counted (from the job view) and dropped (the
// agents' 'late update dropped' log lines), wall-clock per run; and the semi-async/sync pace ratio.
// Runs go one at a time: running them side by side would make them compete for the CPU they time.
//   node bench/semi-async.ts [--rounds 8] [--seeds 1,2,3] [--slow-factor 5] [--strategy fedavg]
//     [--max-staleness 4] [--partition iid] [--rows 3000] [--timeout-s S] [--json]
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateClinicalDataset, writeCsv } from '@medfed/cli/simulate/index';

const root = new URL('..', import.meta.url).pathname;
const MAIN = join(root, 'cli/dist/main.js');

/** Four training sites, rounds closing at three: the encryption minimum, and one site to spare. */
const SITES = 4;
const CLOSE_AFTER = 3;
const COHORT_SEED = 11;

type Mode = 'sync' | 'semi-async';

interface Settings {
  rounds: number; seeds: number[]; slowFactor: number; strategy: string; maxStaleness: number;
  partition: string; rows: number; timeoutS: number; json: boolean;
}

const USAGE = `node bench/semi-async.ts [options]
  --rounds R            training rounds per run (default 8)
  --seeds 1,2,3         seeds (split, initial model, training); default 1,2,3
  --slow-factor F       the last site trains F times as long (default 5)
  --strategy NAME       a weighted-mean strategy (default fedavg)
  --max-staleness S     stalest late update counted, semi-async runs (default 4)
  --partition SCHEME    default iid
  --rows N              cohort size (default 3000)
  --timeout-s S         limit per run (default 240 + 8 x rounds x slow factor)
  --json                one JSON object on stdout`;

function fail(message: string): never {
  process.stderr.write(`bench/semi-async.ts: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function nonNegativeInt(flag: string, text: string | undefined, min = 0): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) < min) fail(`${flag} takes an integer >= ${min}`);
  return Number(text);
}

export function parseArgs(args: readonly string[]): Settings {
  const s: Settings = { rounds: 8, seeds: [1, 2, 3], slowFactor: 5, strategy: 'fedavg', maxStaleness: 4, partition: 'iid', rows: 3000, timeoutS: 0, json: false };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    const value = () => args[++i];
    switch (flag) {
      case '--rounds': s.rounds = nonNegativeInt(flag, value(), 1); break;
      case '--seeds': {
        const text = value();
        s.seeds = (text ?? '').split(',').map((v) => Number(v));
        if (!text || s.seeds.some((v) => !Number.isSafeInteger(v) || v < 0)) fail('--seeds takes comma-separated non-negative integers');
        break;
      }
      case '--slow-factor': {
        s.slowFactor = Number(value());
        if (!Number.isFinite(s.slowFactor) || s.slowFactor < 1 || s.slowFactor > 100) fail('--slow-factor takes a number from 1 to 100');
        break;
      }
      case '--strategy': s.strategy = value() ?? fail('--strategy takes a name'); break;
      case '--max-staleness': s.maxStaleness = nonNegativeInt(flag, value()); break;
      case '--partition': s.partition = value() ?? fail('--partition takes a scheme'); break;
      case '--rows': s.rows = nonNegativeInt(flag, value(), 1); break;
      case '--timeout-s': s.timeoutS = nonNegativeInt(flag, value(), 1); break;
      case '--json': s.json = true; break;
      case '--help': process.stdout.write(`${USAGE}\n`); process.exit(0);
      default: fail(`unknown option ${flag}`);
    }
  }
  if (s.timeoutS === 0) s.timeoutS = Math.ceil(240 + 8 * s.rounds * s.slowFactor);
  return s;
}

interface SimulateJson {
  rounds: { round: number; accuracy: number; late?: { site: string; staleness: number }[] }[];
  federated: { accuracy: number };
  semi_async: { close_after: number; max_staleness: number } | null;
  slow_site: { site: string; factor: number } | null;
  wall_seconds: number;
  rounds_per_minute: number;
}

interface Run {
  mode: Mode; seed: number; seconds: number;
  roundsPerMinute: number | null; accuracy: number | null; wallSeconds: number | null;
  lateCounted: number | null; staleness: number[];
  /** 'late update dropped' lines in the agents' logs; null when no log could be read. */
  lateDropped: number | null;
  error: string | null;
}

function simulateArgs(s: Settings, csv: string, mode: Mode, seed: number, workDir: string): string[] {
  return ['simulate', '--data', csv, '--label', 'risk', '--sites', String(SITES), '--partition', s.partition,
    '--rounds', String(s.rounds), '--seed', String(seed), '--strategy', s.strategy, '--slow-site', String(s.slowFactor),
    ...(mode === 'semi-async' ? ['--close-after', String(CLOSE_AFTER), '--max-staleness', String(s.maxStaleness)] : []),
    '--work-dir', workDir, '--json', '--no-release'];
}

/** Lines in the sites' agent logs that say a late update was dropped; null when there is no log to read. */
async function droppedInLogs(workDir: string): Promise<number | null> {
  let sites: string[];
  try { sites = await readdir(join(workDir, 'sites')); } catch { return null; }
  let count = 0;
  let read = 0;
  for (const site of sites) {
    let text: string;
    try { text = await readFile(join(workDir, 'sites', site, 'agent.log'), 'utf8'); } catch { continue; }
    read++;
    count += text.split('\n').filter((line) => /late update dropped/i.test(line)).length;
  }
  return read > 0 ? count : null;
}

/** One `medfed simulate`, killed at the timeout; a failure is recorded, never thrown. Its work folder is removed after. */
function runOnce(s: Settings, csv: string, mode: Mode, seed: number, workDir: string): Promise<Run> {
  const base = { mode, seed };
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...simulateArgs(s, csv, mode, seed, workDir)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-20_000); });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, s.timeoutS * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      void (async () => {
        const lateDropped = await droppedInLogs(workDir);
        await rm(workDir, { recursive: true, force: true });
        const failed = (error: string): Run => ({
          ...base, seconds, roundsPerMinute: null, accuracy: null, wallSeconds: null, lateCounted: null, staleness: [], lateDropped, error });
        if (timedOut) return resolve(failed(`timed out after ${s.timeoutS} s`));
        if (code !== 0) return resolve(failed(`exit ${code}: ${stderr.trim().split('\n').at(-1) ?? ''}`));
        try {
          const r = JSON.parse(stdout) as SimulateJson;
          const late = r.rounds.flatMap((x) => x.late ?? []);
          resolve({
            ...base, seconds, roundsPerMinute: r.rounds_per_minute, accuracy: r.federated.accuracy, wallSeconds: r.wall_seconds,
            lateCounted: late.length, staleness: late.map((l) => l.staleness), lateDropped, error: null,
          });
        } catch {
          resolve(failed(`not one JSON object on stdout: ${stdout.slice(0, 200)}`));
        }
      })();
    });
  });
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Sample standard deviation (n - 1); 0 for a single value. */
const sd = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const pct = (x: number) => (100 * x).toFixed(1);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

interface Row {
  mode: Mode; runs: number; failed: number;
  rounds_per_minute_mean: number | null; rounds_per_minute_sd: number | null;
  accuracy_mean: number | null; accuracy_sd: number | null;
  late_counted: number; late_dropped: number | null; seconds_per_run: number;
}

function rowOf(mode: Mode, runs: Run[]): Row {
  const mine = runs.filter((r) => r.mode === mode);
  const ok = mine.filter((r) => r.error === null);
  const pace = ok.map((r) => r.roundsPerMinute!);
  const accuracy = ok.map((r) => r.accuracy!);
  const dropped = mine.map((r) => r.lateDropped).filter((d): d is number => d !== null);
  return {
    mode, runs: mine.length, failed: mine.length - ok.length,
    rounds_per_minute_mean: ok.length ? mean(pace) : null, rounds_per_minute_sd: ok.length ? sd(pace) : null,
    accuracy_mean: ok.length ? mean(accuracy) : null, accuracy_sd: ok.length ? sd(accuracy) : null,
    late_counted: sum(ok.map((r) => r.lateCounted!)), late_dropped: dropped.length ? sum(dropped) : null,
    seconds_per_run: mean(mine.map((r) => r.seconds)),
  };
}

function printRows(s: Settings, rows: Row[], ratio: number | null, runs: Run[], command: string): void {
  const head = ['mode', 'rounds/min (mean ± sd)', 'final accuracy % (mean ± sd)', 'late counted', 'late dropped', 's/run'];
  const lines = rows.map((r) => [
    r.mode + (r.failed ? ` (${r.failed}/${r.runs} failed)` : ''),
    r.rounds_per_minute_mean === null ? 'failed' : `${r.rounds_per_minute_mean.toFixed(2)} ± ${r.rounds_per_minute_sd!.toFixed(2)}`,
    r.accuracy_mean === null ? 'failed' : `${pct(r.accuracy_mean)} ± ${pct(r.accuracy_sd!)}`,
    String(r.late_counted),
    r.late_dropped === null ? '-' : String(r.late_dropped),
    r.seconds_per_run.toFixed(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  process.stdout.write(`semi-asynchronous rounds on the generated cohort: ${s.rows} rows, ${SITES} sites (the last slowed x${s.slowFactor}), ${s.partition}, `
    + `${s.rounds} rounds, ${s.strategy}, seeds ${s.seeds.join(',')}, encrypted; semi-async: --close-after ${CLOSE_AFTER} --max-staleness ${s.maxStaleness}\n`);
  process.stdout.write(`command: ${command}\n\n`);
  process.stdout.write(`${fmt(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${lines.map(fmt).join('\n')}\n\n`);
  process.stdout.write(`semi-async / sync rounds per minute: ${ratio === null ? '-' : `${ratio.toFixed(2)}x`}\n`);
  const staleness = runs.flatMap((r) => r.staleness);
  if (staleness.length > 0) process.stdout.write(`staleness of counted late updates: ${[...new Set(staleness)].sort((a, b) => a - b).map((v) => `${v} (${staleness.filter((x) => x === v).length})`).join(', ')}\n`);
  process.stdout.write('rounds/min: closed training rounds over the span from the first training round\'s opening to the last one\'s close; '
    + 'late dropped: the agents\' \'late update dropped\' log lines (too stale, or no training round left to count in)\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const s = parseArgs(process.argv.slice(2));
  const command = `node bench/semi-async.ts ${process.argv.slice(2).join(' ')}`.trim();
  const dir = await mkdtemp(join(tmpdir(), 'medfed-bench-semi-async-'));
  try {
    const csv = join(dir, 'cohort.csv');
    await writeCsv(csv, generateClinicalDataset(s.rows, COHORT_SEED));
    const plan = s.seeds.flatMap((seed) => (['sync', 'semi-async'] as const).map((mode) => ({ mode, seed })));
    const runs: Run[] = [];
    for (const [i, p] of plan.entries()) {
      if (!s.json) process.stderr.write(`\rruns: ${i}/${plan.length} (${p.mode}, seed ${p.seed})   `);
      runs.push(await runOnce(s, csv, p.mode, p.seed, join(dir, `run-${p.mode}-${p.seed}`)));
    }
    if (!s.json) process.stderr.write(`\rruns: ${plan.length}/${plan.length}                    \n`);
    const rows = (['sync', 'semi-async'] as const).map((mode) => rowOf(mode, runs));
    const [sync, semi] = rows;
    const ratio = sync!.rounds_per_minute_mean && semi!.rounds_per_minute_mean !== null ? semi!.rounds_per_minute_mean / sync!.rounds_per_minute_mean : null;
    const failures = runs.filter((r) => r.error !== null);
    if (s.json) {
      process.stdout.write(`${JSON.stringify({ command, settings: { ...s, sites: SITES, closeAfter: CLOSE_AFTER }, rows, semi_async_over_sync_pace: ratio, runs })}\n`);
    } else {
      printRows(s, rows, ratio, runs, command);
      for (const f of failures) process.stdout.write(`failed: ${f.mode} seed ${f.seed}: ${f.error}\n`);
    }
    process.exitCode = failures.length > 0 ? 1 : 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
