import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { loadDataset } from '@medfed/node-agent/data/index';
import { readCsv } from '@medfed/node-agent/data/read-csv';
import { DEFAULT_MAX_STALENESS, knownStrategyNames } from '@medfed/proto';
import { parsePartitionScheme, trainCentralized } from '../simulate/index.js';
import { chooseStrategy, collectStrategyParam, serverLrStrategies, type ChosenStrategy } from '../simulate/strategy-options.js';
import { roundParamsSha256 } from '../simulate/round-digests.js';
import { checkSemiAsyncFits, parseSlowdown, semiAsyncLine, slowSiteLine, slowSiteOf } from '../simulate/semi-async.js';
import { lateLine, lateUpdatesOf, runTiming, type LateUpdate } from '../simulate/run-timing.js';
import { runLocalFederation, type FinishedRun } from '../federation/local-federation.js';
import { releaseWithDevelopmentIdentities } from './release-demo.js';
import { RECOMMENDED_ROUNDS } from '../simulate/defaults.js';
import { jobTemplate } from '../federation/job-template.js';
import { writeSiteFiles } from '../federation/site-files.js';
import { finalTable, RoundProgress } from '../federation/progress.js';
import { reportAndExit } from '../fail.js';
import { stderrLogger } from '../logging.js';
import { parseNonNegativeInt, parsePositiveInt } from '../options.js';

export interface SimulateOptions {
  data: string;
  label: string;
  sites: number;
  partition: string;
  rounds: number;
  seed: number;
  testFraction: number;
  json: boolean;
  workDir?: string;
  databaseUrl?: string;
  logLevel: string;
  plaintext?: boolean;
  /** Release the final model through the release workflow (default true; `--no-release`). */
  release?: boolean;
  /** A name from the strategy registry (default fedavg). */
  strategy?: string;
  /** The server learning rate, for strategies that have one. */
  serverLr?: string | number;
  /** KEY=VALUE, any parameter the strategy declares. */
  strategyParam?: string[];
  /** Semi-asynchronous rounds: a training round closes at the first K updates (strategy.closeAfter). */
  closeAfter?: number;
  /** With closeAfter: the stalest late update still counted (strategy.maxStaleness). */
  maxStaleness?: number;
  /** The last training site's agent trains FACTOR times as long (development.trainingSlowdown). */
  slowSite?: number;
}

export interface SimulateResult {
  sites: number;
  test_size: number;
  train_size: number;
  partition: string;
  encrypted: boolean;
  /** The strategy that ran, with every parameter resolved (defaults filled in). */
  strategy: { name: string; parameters: Record<string, number> };
  /**
   * Per round: the held-out figures, and the digest of the global model the round agreed on
   * (null where the coordinator reports none).
   */
  rounds: { round: number; loss: number; accuracy: number; params_sha256: string | null; late: LateUpdate[] }[];
  /** Semi-asynchronous rounds as resolved (maxStaleness defaulted), or null for synchronous ones. */
  semi_async: { close_after: number; max_staleness: number } | null;
  /** The slowed training site and its slowdown factor, or null. */
  slow_site: { site: string; factor: number } | null;
  /** Seconds from the job's creation to its completion. */
  wall_seconds: number;
  /** Training rounds per minute, from the first training round's opening to the last one's close. */
  rounds_per_minute: number;
  federated: { accuracy: number; loss: number };
  centralized: { accuracy: number; loss: number };
  job_id: string;
  /** The final round's model, released through the release workflow by development identities. */
  release: { id: string; sha256: string; decrypting_site: string | null; countersigning_site: string | null } | null;
}

/** The real coordinator and agents over the user's CSV split across K virtual sites, plus a centralised baseline. */
export async function simulate(opts: SimulateOptions): Promise<SimulateResult> {
  const scheme = parsePartitionScheme(opts.partition);
  const strategy = chooseStrategy({
    strategy: opts.strategy ?? 'fedavg', serverLr: opts.serverLr, strategyParam: opts.strategyParam, closeAfter: opts.closeAfter, maxStaleness: opts.maxStaleness,
  }, !opts.plaintext);
  const semiAsync = strategy.resolved.semiAsync;
  if (semiAsync) checkSemiAsyncFits(semiAsync, opts.sites, !opts.plaintext);
  const log = stderrLogger(opts.logLevel, { component: 'simulate' });
  const dataset = await loadDataset(opts.data, { label: opts.label });
  const table = await readCsv(opts.data);
  const workDir = opts.workDir ? resolve(opts.workDir) : await mkdtemp(join(tmpdir(), 'medfed-simulate-'));
  try {
    const split = await writeSiteFiles(table, {
      dir: join(workDir, 'data'), label: opts.label, sites: opts.sites, scheme, seed: opts.seed, testFraction: opts.testFraction,
    });
    // A semi-asynchronous round needs only closeAfter sites; a synchronous one waits for all of them.
    const minSites = semiAsync ? semiAsync.closeAfter : opts.sites;
    const job = jobTemplate(dataset, { name: `simulate ${opts.data}`, rounds: opts.rounds, seed: opts.seed, minSites, encrypted: !opts.plaintext, strategy: strategy.settings });
    const slow = slowSiteOf(split.sites.filter((s) => s.role === 'trainer').map((s) => s.id), opts.slowSite);
    if (!opts.json) {
      process.stdout.write('development site stewards approve the job automatically (a real site needs medfed agent approve --job J --ethics-ref REF)\n');
      process.stdout.write(`${semiAsyncLine(semiAsync, opts.sites)}\n${slow ? `${slowSiteLine(slow)}\n` : ''}`);
    }
    const progress = opts.json ? null : new RoundProgress();
    let released: Awaited<ReturnType<typeof releaseWithDevelopmentIdentities>> | null = null;
    const run = await runLocalFederation({
      workDir, sites: split.sites, label: opts.label, spec: job, log, inMemoryDatabase: true, databaseUrl: opts.databaseUrl,
      ...(slow ? { siteDevelopment: { [slow.site]: { trainingSlowdown: slow.factor } } } : {}),
      ...(progress ? { onUpdate: (v: Parameters<RoundProgress['update']>[0]) => progress.update(v) } : {}),
      ...(opts.release !== false ? { afterRun: async (finished: FinishedRun) => {
        released = await releaseWithDevelopmentIdentities(finished, opts.rounds, split.sites.map((s) => s.id));
      } } : {}),
    });
    progress?.finish();
    const fullSpec = { ...job, sites: split.sites.filter((s) => s.role === 'trainer').map((s) => s.id) };
    const centralized = await trainCentralized({ dataset, trainRows: split.trainRows, testRows: split.testRows, job: fullSpec });
    const last = run.view.figures.find((f) => f.round === opts.rounds);
    if (!last) throw new Error('the final round has no evaluation');
    const release = released as Awaited<ReturnType<typeof releaseWithDevelopmentIdentities>> | null;
    const timing = runTiming(run.view, run.observed);
    const rounds = run.view.figures.map((f) => ({
      round: f.round, loss: f.loss, accuracy: f.accuracy, params_sha256: roundParamsSha256(run.view, f.round),
      late: lateUpdatesOf(run.view.rounds.find((r) => r.round === f.round && r.kind === 'train') ?? {}),
    }));
    if (!opts.json) {
      const pace = `${timing.rounds_per_minute.toFixed(2)} training rounds/min, ${timing.wall_seconds.toFixed(1)} s from job creation to completion`;
      process.stdout.write(`\n${strategyLine(strategy)}\n${semiAsync ? `${lateLine(rounds)}\n` : ''}${pace}\n${finalTable(run.view)}\n${release ? `${release.lines.join('\n')}\n` : ''}`);
    }
    return {
      sites: opts.sites,
      test_size: split.testRows.length,
      train_size: split.trainRows.length,
      partition: opts.partition,
      encrypted: !opts.plaintext,
      strategy: { name: strategy.resolved.definition.name, parameters: { ...strategy.resolved.parameters } },
      rounds,
      semi_async: semiAsync ? { close_after: semiAsync.closeAfter, max_staleness: semiAsync.maxStaleness } : null,
      slow_site: slow,
      wall_seconds: timing.wall_seconds,
      rounds_per_minute: timing.rounds_per_minute,
      federated: { accuracy: last.accuracy, loss: last.loss },
      centralized: { accuracy: centralized.accuracy, loss: centralized.loss },
      job_id: run.view.id,
      release: release ? {
        id: release.release.id, sha256: release.release.sha256 ?? '',
        decrypting_site: release.release.decryptingSite ?? null, countersigning_site: release.release.countersigningSite ?? null,
      } : null,
    };
  } finally {
    if (!opts.workDir) await rm(workDir, { recursive: true, force: true });
  }
}

/** One line for the human output: which strategy ran, with its resolved parameters. */
export function strategyLine(strategy: ChosenStrategy): string {
  const params = Object.entries(strategy.resolved.parameters).map(([k, v]) => `${k} ${v}`).join(', ');
  return `strategy ${strategy.resolved.definition.name}${params ? ` (${params})` : ''}: ${strategy.resolved.definition.summary}`;
}

export function register(program: Command): void {
  program.command('simulate')
    .description('run a real federation on this machine over your own CSV split across K virtual sites')
    .requiredOption('--data <file.csv>', 'the dataset (CSV with a header row)')
    .requiredOption('--label <column>', 'the label column')
    .option('--sites <k>', 'number of virtual training sites', parsePositiveInt, 3)
    .option('--partition <scheme>', 'iid | dirichlet:ALPHA | by-column:COLUMN', 'iid')
    .option('--rounds <r>', 'training rounds', parsePositiveInt, RECOMMENDED_ROUNDS)
    .option('--seed <s>', 'seed for the split, the initial model and training', parseNonNegativeInt, 42)
    .addOption(new Option('--test-fraction <f>', 'held-out share for the evaluator site').default(0.2).argParser((v) => {
      const f = Number(v);
      if (!(f > 0 && f < 0.9)) throw new Error('--test-fraction must be in (0, 0.9)');
      return f;
    }))
    .option('--work-dir <dir>', 'keep site files, agent logs and coordinator state here (default: a temporary folder, removed)')
    .option('--database-url <url>', 'keep the coordinator\'s state in this PostgreSQL database (default: in memory)')
    .option('--log-level <level>', 'log level on stderr', 'warn')
    .addOption(new Option('--strategy <name>', 'federated strategy (proto/src/strategy/registry.ts)').choices(knownStrategyNames()).default('fedavg'))
    .option('--server-lr <x>', `server learning rate, for strategies that have one (${serverLrStrategies().join(', ')})`)
    .option('--strategy-param <key=value>', 'a parameter of the strategy, e.g. beta1=0.9 (repeatable)', collectStrategyParam, [])
    .option('--close-after <k>', 'semi-asynchronous rounds: a training round closes at the first K updates; a late one counts in the next open round', parsePositiveInt)
    .option('--max-staleness <s>', `with --close-after: the stalest late update still counted, in rounds (default ${DEFAULT_MAX_STALENESS})`, parseNonNegativeInt)
    .option('--slow-site <factor>', 'development: the last training site trains FACTOR times as long (e.g. 5)', parseSlowdown)
    .option('--plaintext', 'development only: send updates unencrypted (encryption is the default)', false)
    .option('--no-release', 'skip releasing the final model (by default development identities approve its release automatically)')
    .option('--json', 'print exactly one JSON object on stdout', false)
    .action(async (opts: SimulateOptions) => {
      try {
        const result = await simulate(opts);
        if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        else {
          process.stdout.write(`\nfederated  accuracy ${(result.federated.accuracy * 100).toFixed(1)}%  loss ${result.federated.loss.toFixed(4)}\n`);
          process.stdout.write(`centralized accuracy ${(result.centralized.accuracy * 100).toFixed(1)}%  loss ${result.centralized.loss.toFixed(4)}  (same model, pooled training data)\n`);
        }
        process.exit(0);
      } catch (err) {
        reportAndExit(err);
      }
    });
}
