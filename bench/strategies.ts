// Federated strategies compared on the generated clinical cohort under label skew: each run is a real
// `medfed simulate` (coordinator, agents, encryption) as a child process of the built CLI. Per strategy
// and server learning rate: mean final held-out accuracy over the seeds (± sample sd), each seed's
// accuracy, wall-clock per run and the difference to FedAvg, beside the centralised accuracy (the
// ceiling). Each strategy's best learning rate is repeated with --plaintext, and every round's model
// digest is compared with the encrypted run's ("digests identical r/R").
//   node bench/strategies.ts [--rounds 10] [--seeds 1,2,3] [--strategies fedavg,fedadam] [--grid fedadam=0.01,0.1]
//     [--concurrency 1] [--no-plaintext-twin] [--sites 3] [--partition dirichlet:0.3] [--rows 3000]
//     [--timeout-s S] [--json]
import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateClinicalDataset, writeCsv } from '@medfed/cli/simulate/index';

const root = new URL('..', import.meta.url).pathname;
const MAIN = join(root, 'cli/dist/main.js');

const DEFAULT_STRATEGIES = ['fedavg', 'fedprox', 'fedavgm', 'fedadam', 'fedyogi', 'fedadagrad'];
/** Server learning rates tried per strategy; a strategy without one runs once per seed at its defaults. */
const DEFAULT_GRID: Record<string, number[]> = {
  fedavgm: [0.5, 1],
  fedadam: [0.01, 0.03, 0.1],
  fedyogi: [0.01, 0.03, 0.1],
  fedadagrad: [0.01, 0.03, 0.1],
};
const COHORT_SEED = 11;

interface Settings {
  rounds: number; seeds: number[]; strategies: string[]; grid: Record<string, number[]>; concurrency: number;
  plaintextTwin: boolean; sites: number; partition: string; rows: number; timeoutS: number; json: boolean;
  /** Each finished run as one JSON line, as it finishes (a long grid keeps what it measured if it is stopped). */
  log: string | null;
}

const USAGE = `node bench/strategies.ts [options]
  --rounds R            training rounds per run (default 10)
  --seeds 1,2,3         seeds (split, initial model, training); default 1,2,3
  --strategies a,b      default ${DEFAULT_STRATEGIES.join(',')}
  --grid NAME=x,y       server learning rates for NAME (repeatable; default ${Object.entries(DEFAULT_GRID).map(([k, v]) => `${k}=${v.join(',')}`).join(' ')})
  --concurrency N       runs in parallel (default 1)
  --no-plaintext-twin   skip the --plaintext repeat of each strategy's best learning rate
  --sites K             virtual training sites (default 3)
  --partition SCHEME    default dirichlet:0.3
  --rows N              cohort size (default 3000)
  --timeout-s S         limit per run (default 120 + 30 x rounds)
  --log FILE            append each finished run to FILE as one JSON line, as it finishes
  --json                one JSON object on stdout`;

function fail(message: string): never {
  process.stderr.write(`bench/strategies.ts: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function positiveInt(flag: string, text: string | undefined): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) < 1) fail(`${flag} takes a positive integer`);
  return Number(text);
}

function numberList(flag: string, text: string | undefined): number[] {
  const values = (text ?? '').split(',').map((v) => Number(v));
  if (!text || values.some((v) => !Number.isFinite(v))) fail(`${flag} takes comma-separated numbers`);
  return values;
}

export function parseArgs(args: readonly string[]): Settings {
  const s: Settings = {
    rounds: 10, seeds: [1, 2, 3], strategies: DEFAULT_STRATEGIES, grid: { ...DEFAULT_GRID }, concurrency: 1,
    plaintextTwin: true, sites: 3, partition: 'dirichlet:0.3', rows: 3000, timeoutS: 0, json: false, log: null,
  };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    const value = () => args[++i];
    switch (flag) {
      case '--rounds': s.rounds = positiveInt(flag, value()); break;
      case '--seeds': s.seeds = numberList(flag, value()); break;
      case '--strategies': s.strategies = (value() ?? '').split(',').filter(Boolean); break;
      case '--grid': {
        const [name, list] = (value() ?? '').split('=');
        if (!name || !list) fail('--grid takes NAME=x,y');
        s.grid[name] = numberList(flag, list);
        break;
      }
      case '--concurrency': s.concurrency = positiveInt(flag, value()); break;
      case '--plaintext-twin': s.plaintextTwin = true; break;
      case '--no-plaintext-twin': s.plaintextTwin = false; break;
      case '--sites': s.sites = positiveInt(flag, value()); break;
      case '--partition': s.partition = value() ?? fail('--partition takes a scheme'); break;
      case '--rows': s.rows = positiveInt(flag, value()); break;
      case '--timeout-s': s.timeoutS = positiveInt(flag, value()); break;
      case '--json': s.json = true; break;
      case '--log': s.log = value() ?? fail('--log takes a file'); break;
      case '--help': process.stdout.write(`${USAGE}\n`); process.exit(0);
      default: fail(`unknown option ${flag}`);
    }
  }
  if (s.strategies.length === 0) fail('--strategies names none');
  if (s.timeoutS === 0) s.timeoutS = 120 + 30 * s.rounds;
  return s;
}

interface SimulateJson {
  strategy?: { name: string; parameters: Record<string, number> };
  rounds: { round: number; accuracy: number; params_sha256?: string | null }[];
  federated: { accuracy: number };
  centralized: { accuracy: number };
}

interface Run {
  strategy: string; serverLr: number | null; seed: number; plaintext: boolean;
  seconds: number; accuracy: number | null; centralized: number | null; digests: (string | null)[]; error: string | null;
}

function simulateArgs(s: Settings, csv: string, strategy: string, serverLr: number | null, seed: number, plaintext: boolean): string[] {
  return ['simulate', '--data', csv, '--label', 'risk', '--sites', String(s.sites), '--partition', s.partition,
    '--rounds', String(s.rounds), '--seed', String(seed), '--strategy', strategy,
    ...(serverLr === null ? [] : ['--server-lr', String(serverLr)]), '--json', '--no-release', ...(plaintext ? ['--plaintext'] : [])];
}

/** runOnce, its result appended to the --log file as soon as it is known. */
async function runLogged(s: Settings, csv: string, strategy: string, serverLr: number | null, seed: number, plaintext: boolean): Promise<Run> {
  const run = await runOnce(s, csv, strategy, serverLr, seed, plaintext);
  if (s.log) await appendFile(s.log, `${JSON.stringify(run)}\n`);
  return run;
}

/** One `medfed simulate`, killed at the timeout; a failure is recorded, never thrown. */
function runOnce(s: Settings, csv: string, strategy: string, serverLr: number | null, seed: number, plaintext: boolean): Promise<Run> {
  const base = { strategy, serverLr, seed, plaintext };
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...simulateArgs(s, csv, strategy, serverLr, seed, plaintext)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, s.timeoutS * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      const failed = (error: string): Run => ({ ...base, seconds, accuracy: null, centralized: null, digests: [], error });
      if (timedOut) return resolve(failed(`timed out after ${s.timeoutS} s`));
      if (code !== 0) return resolve(failed(`exit ${code}: ${stderr.trim().split('\n').at(-1) ?? ''}`));
      try {
        const r = JSON.parse(stdout) as SimulateJson;
        resolve({ ...base, seconds, accuracy: r.federated.accuracy, centralized: r.centralized.accuracy,
          digests: r.rounds.map((x) => x.params_sha256 ?? null), error: null });
      } catch {
        resolve(failed(`not one JSON object on stdout: ${stdout.slice(0, 200)}`));
      }
    });
  });
}

/** Runs the jobs `concurrency` at a time, in order of submission. */
async function pool<T>(jobs: (() => Promise<T>)[], concurrency: number, onDone: (done: number) => void): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  let done = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]!();
      onDone(++done);
    }
  }));
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Sample standard deviation (n - 1); 0 for a single value. */
const sd = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const pct = (x: number) => (100 * x).toFixed(1);

interface Row {
  strategy: string; server_lr: number | null; runs: number; failed: number;
  accuracy_mean: number | null; accuracy_sd: number | null; accuracy_per_seed: (number | null)[];
  seconds_per_run: number; vs_fedavg_points: number | null; best_lr: boolean;
  /** Rounds whose digest the encrypted run and its --plaintext twin agree on, over all seeds; null when not compared. */
  digests_identical: { rounds: number; of: number; reported: number } | null;
}

function rowsOf(s: Settings, runs: Run[], twins: Run[]): Row[] {
  const rows: Row[] = [];
  for (const strategy of s.strategies) {
    for (const lr of s.grid[strategy] ?? [null]) {
      const mine = runs.filter((r) => r.strategy === strategy && r.serverLr === lr);
      const ok = mine.filter((r) => r.accuracy !== null).map((r) => r.accuracy!);
      rows.push({
        strategy, server_lr: lr, runs: mine.length, failed: mine.length - ok.length,
        accuracy_mean: ok.length ? mean(ok) : null, accuracy_sd: ok.length ? sd(ok) : null,
        accuracy_per_seed: s.seeds.map((seed) => mine.find((r) => r.seed === seed)?.accuracy ?? null),
        seconds_per_run: mean(mine.map((r) => r.seconds)), vs_fedavg_points: null, best_lr: false, digests_identical: null,
      });
    }
  }
  const baseline = rows.find((r) => r.strategy === 'fedavg')?.accuracy_mean ?? null;
  for (const r of rows) if (baseline !== null && r.accuracy_mean !== null) r.vs_fedavg_points = 100 * (r.accuracy_mean - baseline);
  for (const strategy of s.strategies) {
    const best = bestOf(rows, strategy);
    if (!best) continue;
    best.best_lr = true;
    const pairs = twins.filter((t) => t.strategy === strategy && t.serverLr === best.server_lr)
      .map((t) => [runs.find((r) => r.strategy === strategy && r.serverLr === t.serverLr && r.seed === t.seed)!, t] as const);
    if (pairs.length === 0) continue;
    let identical = 0;
    let reported = 0;
    for (const [enc, plain] of pairs) {
      for (let i = 0; i < s.rounds; i++) {
        const a = enc.digests[i] ?? null;
        const b = plain.digests[i] ?? null;
        if (a !== null && b !== null) reported++;
        if (a !== null && a === b) identical++;
      }
    }
    best.digests_identical = { rounds: identical, of: pairs.length * s.rounds, reported };
  }
  return rows;
}

/** The learning rate with the highest mean accuracy (the first on a tie). */
function bestOf(rows: Row[], strategy: string): Row | undefined {
  return rows.filter((r) => r.strategy === strategy && r.accuracy_mean !== null)
    .reduce<Row | undefined>((best, r) => (!best || r.accuracy_mean! > best.accuracy_mean! ? r : best), undefined);
}

function printRows(s: Settings, rows: Row[], centralized: number[], command: string): void {
  const head = ['strategy', 'server lr', 'accuracy % (mean ± sd)', 'per seed %', 's/run', 'vs fedavg', 'digests identical r/R'];
  const lines = rows.map((r) => [
    r.strategy + (r.best_lr && (s.grid[r.strategy]?.length ?? 0) > 1 ? ' *' : ''),
    r.server_lr === null ? '-' : String(r.server_lr),
    r.accuracy_mean === null ? 'failed' : `${pct(r.accuracy_mean)} ± ${pct(r.accuracy_sd!)}${r.failed ? ` (${r.failed} failed)` : ''}`,
    r.accuracy_per_seed.map((a) => (a === null ? 'x' : pct(a))).join(' '),
    r.seconds_per_run.toFixed(1),
    r.strategy === 'fedavg' ? 'baseline' : r.vs_fedavg_points === null ? '-' : `${r.vs_fedavg_points >= 0 ? '+' : ''}${r.vs_fedavg_points.toFixed(1)} pts`,
    r.digests_identical === null ? '-'
      : `${r.digests_identical.rounds}/${r.digests_identical.of}${r.digests_identical.reported < r.digests_identical.of ? ` (${r.digests_identical.reported} reported)` : ''}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  process.stdout.write(`strategies on the generated cohort: ${s.rows} rows, ${s.sites} sites, ${s.partition}, ${s.rounds} rounds, seeds ${s.seeds.join(',')}, encrypted\n`);
  process.stdout.write(`command: ${command}\n\n`);
  process.stdout.write(`${fmt(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${lines.map(fmt).join('\n')}\n\n`);
  if (centralized.length > 0) {
    process.stdout.write(`ceiling: centralised accuracy ${pct(mean(centralized))}% ± ${pct(sd(centralized))} (same model on the pooled training rows; per seed ${centralized.map(pct).join(' ')})\n`);
  }
  process.stdout.write('* best server learning rate of the strategy (highest mean); digests compared on its runs against --plaintext twins\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const s = parseArgs(process.argv.slice(2));
  const command = `node bench/strategies.ts ${process.argv.slice(2).join(' ')}`.trim();
  const dir = await mkdtemp(join(tmpdir(), 'medfed-bench-strategies-'));
  try {
    const csv = join(dir, 'cohort.csv');
    await writeCsv(csv, generateClinicalDataset(s.rows, COHORT_SEED));
    const progress = (what: string, total: number) => (done: number) => { if (!s.json) process.stderr.write(`\r${what}: ${done}/${total}`); if (done === total && !s.json) process.stderr.write('\n'); };
    const plan = s.strategies.flatMap((strategy) => (s.grid[strategy] ?? [null]).flatMap((lr) => s.seeds.map((seed) => ({ strategy, lr, seed }))));
    const runs = await pool(plan.map((p) => () => runLogged(s, csv, p.strategy, p.lr, p.seed, false)), s.concurrency, progress('encrypted runs', plan.length));
    let twins: Run[] = [];
    if (s.plaintextTwin) {
      const provisional = rowsOf(s, runs, []);
      const twinPlan = s.strategies.flatMap((strategy) => {
        const best = bestOf(provisional, strategy);
        return best ? s.seeds.map((seed) => ({ strategy, lr: best.server_lr, seed })) : [];
      });
      twins = await pool(twinPlan.map((p) => () => runLogged(s, csv, p.strategy, p.lr, p.seed, true)), s.concurrency, progress('plaintext twins', twinPlan.length));
    }
    const rows = rowsOf(s, runs, twins);
    // The ceiling: centralised accuracy per seed (the split depends on the seed, not on the strategy).
    const centralized = s.seeds.map((seed) => runs.find((r) => r.seed === seed && r.centralized !== null)?.centralized ?? null).filter((c): c is number => c !== null);
    const failures = [...runs, ...twins].filter((r) => r.error !== null);
    if (s.json) {
      process.stdout.write(`${JSON.stringify({
        command, settings: s, centralized: { per_seed: centralized, mean: centralized.length ? mean(centralized) : null },
        rows, runs: [...runs, ...twins],
      })}\n`);
    } else {
      printRows(s, rows, centralized, command);
      for (const f of failures) process.stdout.write(`failed: ${f.strategy} lr ${f.serverLr ?? '-'} seed ${f.seed}${f.plaintext ? ' (plaintext)' : ''}: ${f.error}\n`);
    }
    process.exitCode = failures.length > 0 ? 1 : 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
