import type { Command, CommanderError } from 'commander';
import { computeEpsilon, PrivacyError, PrivacyLedger, type LedgerSummary } from '@medfed/node-agent/privacy/index';
import { ExitCode } from '../exit-codes.js';

/**
 * `medfed privacy epsilon --sample-rate Q --noise-multiplier Z --steps T --delta D [--json]`:
 * the epsilon the site's RDP accountant gives a DP-SGD plan (Poisson-subsampled Gaussian
 * mechanism at Opacus's default orders; conversion of Balle et al. 2020 as in Opacus's
 * get_privacy_spent). Exit codes: 0 ok, 2 (USAGE) missing or invalid option, 1 unbounded epsilon.
 *
 * `medfed privacy budget --dataset ID [--state-dir DIR] [--epsilon E --delta D] [--json]`: shows a
 * dataset's privacy ledger (budget, spent, remaining, entries) to stewards and auditors; with
 * --epsilon and --delta a steward sets the budget. Exit codes: 0 ok, 2 usage, 3 ledger unusable.
 */

/** Where the command writes and how it finishes; tests pass their own. */
export interface PrivacyIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly exit: (code: number) => void;
}

const processIo: PrivacyIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  exit: (code) => {
    process.exitCode = code;
  },
};

export interface EpsilonCliOptions {
  readonly sampleRate: string;
  readonly noiseMultiplier: string;
  readonly steps: string;
  readonly delta: string;
  readonly json?: boolean;
}

const USAGE = 'medfed privacy epsilon --sample-rate <q> --noise-multiplier <z> --steps <t> --delta <d> [--json]';

export function register(program: Command, io: PrivacyIo = processIo): void {
  const privacy = program.command('privacy').description("the site's differential-privacy accounting");
  usageExit(privacy);
  const epsilon = privacy
    .command('epsilon')
    .description('print the (epsilon, delta)-DP epsilon of a DP-SGD plan (RDP accountant, Poisson-subsampled Gaussian)')
    .requiredOption('--sample-rate <q>', 'Poisson sampling rate per step (batch size / records), in (0, 1]')
    .requiredOption('--noise-multiplier <z>', 'noise standard deviation / clipping norm, > 0')
    .requiredOption('--steps <t>', 'number of training steps, a positive integer')
    .requiredOption('--delta <d>', 'target delta, in (0, 1); below 1 / number of records')
    .option('--json', 'print exactly {"epsilon": x, "order": a} on stdout')
    .addHelpText(
      'after',
      [
        '',
        'Example:',
        '  medfed privacy epsilon --sample-rate 0.0025 --noise-multiplier 1.3 --steps 6000 --delta 1e-5',
        '',
        'RDP orders 1.1..10.9 and 12..63 (Opacus defaults); conversion',
        '  eps = min over a of rdp(a) - (log(delta) + log(a)) / (a - 1) + log((a - 1) / a).',
        `Exit codes: ${ExitCode.OK} ok, ${ExitCode.USAGE} missing or invalid option, ${ExitCode.FAILURE} epsilon unbounded.`,
      ].join('\n'),
    )
    .action((options: EpsilonCliOptions) => io.exit(runEpsilon(options, io)));
  usageExit(epsilon);
  const budget = privacy
    .command('budget')
    .description("show a dataset's privacy ledger (budget, spent, remaining, every release); --epsilon and --delta set the budget")
    .requiredOption('--dataset <id>', 'dataset id')
    .option('--state-dir <dir>', "the agent's state dir", DEFAULT_STATE_DIR)
    .option('--epsilon <e>', 'set the total epsilon budget (with --delta)')
    .option('--delta <d>', 'set the total delta budget (with --epsilon)')
    .option('--json', 'print the ledger summary as JSON')
    .action(async (options: BudgetCliOptions) => io.exit(await runBudget(options, io)));
  usageExit(budget);
}

export interface BudgetCliOptions {
  readonly dataset: string;
  readonly stateDir: string;
  readonly epsilon?: string;
  readonly delta?: string;
  readonly json?: boolean;
}

const DEFAULT_STATE_DIR = './.medfed-agent';

/** `medfed privacy budget`: prints (and optionally sets) a dataset's budget; returns the exit code. */
export async function runBudget(options: BudgetCliOptions, io: Pick<PrivacyIo, 'stdout' | 'stderr'>): Promise<number> {
  const setting = options.epsilon !== undefined || options.delta !== undefined;
  const epsilon = options.epsilon === undefined ? undefined : parseStrictNumber(options.epsilon);
  const delta = options.delta === undefined ? undefined : parseStrictNumber(options.delta);
  if (setting && (epsilon === undefined || delta === undefined || !(delta < 1))) {
    io.stderr('medfed privacy budget: --epsilon (a number >= 0) and --delta (a number in [0, 1)) must be given together\n');
    return ExitCode.USAGE;
  }
  try {
    const ledger = new PrivacyLedger({ stateDir: options.stateDir, dataset: options.dataset });
    const summary = epsilon !== undefined && delta !== undefined ? await ledger.setBudget({ epsilon, delta }) : await ledger.read();
    io.stdout(options.json === true ? `${JSON.stringify(summary, null, 2)}\n` : renderLedger(summary));
    return ExitCode.OK;
  } catch (error) {
    if (!(error instanceof PrivacyError)) throw error;
    io.stderr(`medfed privacy budget: error ${error.code}: ${error.message}\n`);
    return error.code === 'PRIVACY_LEDGER_INVALID_DATASET' || error.code === 'PRIVACY_INVALID_PARAMETER' ? ExitCode.USAGE : ExitCode.CONFIG;
  }
}

function renderLedger(summary: LedgerSummary): string {
  const lines = [
    `dataset ${summary.dataset}`,
    summary.budget === null
      ? '  budget:    not set (every DP release is refused until a steward sets one)'
      : `  budget:    epsilon ${summary.budget.epsilon}, delta ${summary.budget.delta}`,
    `  spent:     epsilon ${Number(summary.spent.epsilon.toPrecision(6))}, delta ${summary.spent.delta}`,
    `  remaining: epsilon ${Number(summary.remaining.epsilon.toPrecision(6))}, delta ${summary.remaining.delta}`,
    `  releases:  ${summary.entries.length}`,
    ...summary.entries.map((e) => `    ${e.at}  eps ${Number(e.epsilon.toPrecision(6))}  delta ${e.delta}  ${e.accounting}  ${e.purpose}${e.job === undefined ? '' : ` (job ${e.job})`}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** `medfed privacy epsilon` with parsed options: prints the result, returns the exit code. */
export function runEpsilon(options: EpsilonCliOptions, io: Pick<PrivacyIo, 'stdout' | 'stderr'>): number {
  const parsed = parseEpsilonOptions(options);
  if (typeof parsed === 'string') {
    io.stderr(`medfed privacy epsilon: ${parsed}\nusage: ${USAGE}\n`);
    return ExitCode.USAGE;
  }
  let result;
  try {
    result = computeEpsilon(parsed);
  } catch (error) {
    if (!(error instanceof PrivacyError)) throw error;
    io.stderr(`medfed privacy epsilon: error ${error.code}: ${error.message}\nusage: ${USAGE}\n`);
    return ExitCode.USAGE;
  }
  if (!Number.isFinite(result.epsilon)) {
    io.stderr('medfed privacy epsilon: epsilon is unbounded for these settings; raise --noise-multiplier\n');
    return ExitCode.FAILURE;
  }
  if (options.json === true) {
    // The documented shape, spacing included: {"epsilon": x, "order": a}.
    io.stdout(`{"epsilon": ${JSON.stringify(result.epsilon)}, "order": ${JSON.stringify(result.order)}}\n`);
  } else {
    io.stdout(
      `epsilon = ${Number(result.epsilon.toPrecision(6))} at delta = ${parsed.delta} (best RDP order ${result.order}; ` +
        `sample rate ${parsed.sampleRate}, noise multiplier ${parsed.noiseMultiplier}, ${parsed.steps} steps)\n`,
    );
  }
  return ExitCode.OK;
}

interface EpsilonSettings {
  readonly sampleRate: number;
  readonly noiseMultiplier: number;
  readonly steps: number;
  readonly delta: number;
}

const OPTION_RULES = [
  { flag: '--sample-rate', key: 'sampleRate', ok: (x: number) => x > 0 && x <= 1, expected: 'a number in (0, 1]' },
  { flag: '--noise-multiplier', key: 'noiseMultiplier', ok: (x: number) => x > 0, expected: 'a number > 0' },
  { flag: '--steps', key: 'steps', ok: (x: number) => Number.isSafeInteger(x) && x >= 1, expected: 'a positive integer' },
  { flag: '--delta', key: 'delta', ok: (x: number) => x > 0 && x < 1, expected: 'a number in (0, 1)' },
] as const;

/** The options as numbers, or a message naming the first bad one. */
function parseEpsilonOptions(options: EpsilonCliOptions): EpsilonSettings | string {
  const values: Partial<Record<keyof EpsilonSettings, number>> = {};
  for (const { flag, key, ok, expected } of OPTION_RULES) {
    const raw: unknown = options[key];
    if (raw === undefined) return `${flag} is required`;
    const x = parseStrictNumber(raw);
    if (x === undefined || !ok(x)) return `${flag} must be ${expected}; got ${JSON.stringify(raw)}`;
    values[key] = x;
  }
  return values as EpsilonSettings;
}

/** Plain decimal or exponent notation only: "abc", "", "1e", "0x10", "Infinity", "NaN" are refused. */
function parseStrictNumber(raw: unknown): number | undefined {
  if (typeof raw !== 'string' || !/^[+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw.trim())) return undefined;
  const x = Number(raw.trim());
  return Number.isFinite(x) ? x : undefined;
}

/** commander exits 1 on its own usage errors; medfed's usage errors exit ExitCode.USAGE (help exits 0). */
function usageExit(command: Command): void {
  command.exitOverride((error: CommanderError) => {
    process.exit(error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE);
  });
}
