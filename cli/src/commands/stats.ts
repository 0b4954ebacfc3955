import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { parseStatsQueryText, type StatsResult } from '@medfed/proto/stats/index';
import { CliError, reportAndExit } from '../fail.js';
import type { WaitingEntryView } from '../federation/rest-client.js';
import { ExitCode } from '../exit-codes.js';
import { connect, withConnection, type Connection } from '../coordinator-connection.js';

/**
 * `medfed stats run QUERY.yaml [--wait] [--format json|text]` submits a federated statistics query
 * (docs/statistics.md) and, with --wait, prints what it waits for each time that changes
 * (`waiting: awaiting approval at site-b`), then its result table; `medfed stats show ID` prints a
 * query's status and result as the caller's role may see it. Exit codes: 0 published (or submitted
 * without --wait), 1 the query failed (a site refused: the reasons are printed), 2 usage, 4
 * unreadable query; connection failures as for every coordinator command (coordinator-connection.ts):
 * 3 unreadable CA, 5 coordinator unreachable, 6 authentication or authorisation.
 */
interface Options extends Connection {
  wait?: boolean;
  timeout: number;
}

interface QueryView {
  id: string; name: string; status: string; failure: string | null; queryDigest: string;
  /** What the query waits for (coordinator/src/federation/waiting.ts); '' once it is finished. */
  waiting?: WaitingEntryView[]; waitingSummary?: string;
  participation?: { site: string; state: string; reason?: string; message?: string }[];
  result?: StatsResult | null;
}

const DONE = new Set(['published', 'failed', 'stopped', 'completed']);

const fmt = (v: number | null | undefined, d = 3) => (v === null || v === undefined ? '-' : Number.isInteger(v) ? String(v) : v.toFixed(d));

/** One line per cell: the group, its count, then per field n, mean, variance and quantiles as asked. */
export function renderStatsView(view: QueryView): string {
  const lines = [`${view.id} ${view.name}: ${view.status}`];
  const waiting = statsWaitingLine(view);
  if (waiting) lines.push(waiting);
  for (const p of view.participation ?? []) lines.push(`  ${p.site}: ${p.state}${p.message ? ` (${p.message})` : ''}`);
  if (view.failure) lines.push(`  ${view.failure}`);
  const r = view.result;
  if (!r) return lines.join('\n');
  lines.push(`published by ${r.publishedBy} from ${r.contributors.length} sites; cells under ${r.minCellSize} suppressed (${r.suppressedCells}); total ${r.total.count}`);
  if (r.noise) lines.push(`DP ${r.noise.mechanism} epsilon ${r.noise.epsilon}: ${r.noise.bounds.map((b) => `${b.kind}${b.field ? `(${b.field})` : ''} ±${fmt(b.bound, 2)}`).join(', ')} at ${r.noise.confidence}`);
  for (const c of r.cells) {
    const group = Object.entries(c.group).map(([k, v]) => `${k}=${v}`).join(' ') || '(all)';
    if (c.suppressed) { lines.push(`${group}: suppressed (${c.reason})`); continue; }
    const fields = Object.entries(c.fields ?? {}).map(([name, f]) => (f === null ? `${name}: suppressed`
      : `${name}: n ${f.n}${f.sum !== undefined ? ` sum ${fmt(f.sum)}` : ''}${f.mean !== undefined ? ` mean ${fmt(f.mean)}` : ''}${f.variance !== undefined ? ` var ${fmt(f.variance)}` : ''}`
        + `${f.quantiles ? ` q ${Object.entries(f.quantiles).map(([q, v]) => `${q}:${fmt(v, 2)}`).join(' ')}` : ''}`));
    lines.push(`${group}: count ${c.count}${fields.length ? `; ${fields.join('; ')}` : ''}`);
  }
  return lines.join('\n');
}

/** `waiting: ...` while the query is not done, else ''. */
export function statsWaitingLine(view: Pick<QueryView, 'status' | 'waitingSummary'>): string {
  return !DONE.has(view.status) && view.waitingSummary ? `waiting: ${view.waitingSummary}` : '';
}

function print(view: QueryView, format: 'text' | 'json'): void {
  process.stdout.write(`${format === 'json' ? JSON.stringify(view, null, 2) : renderStatsView(view)}\n`);
}


export function register(program: Command): void {
  const stats = program.command('stats').description('federated statistics: submit a query, show its result');
  withConnection(stats.command('run <query>').description('submit a statistics query (YAML or JSON) and, with --wait, print its result'))
    .option('--wait', 'wait until the result is published (or the query fails)')
    .option('--timeout <seconds>', 'how long --wait waits', (v) => Number(v), 600)
    .action(async (file: string, opts: Options) => {
      try {
        const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
          throw new CliError('DATA_UNREADABLE', `cannot read ${file} (${err.code ?? err.message})`, ExitCode.DATA);
        });
        let query;
        try {
          query = parseStatsQueryText(text, file);
        } catch (err) {
          throw new CliError('JOB_SPEC_INVALID', (err as Error).message, ExitCode.USAGE);
        }
        const { client } = await connect(opts);
        const { id } = await client.call<{ id: string }>('POST', '/v1/stats/queries', query);
        if (!opts.wait) {
          print({ id, name: query.name, status: 'collecting', failure: null, queryDigest: '' }, opts.format);
          return;
        }
        const until = Date.now() + opts.timeout * 1000;
        let lastWaiting = '';
        for (;;) {
          const view = await client.call<QueryView>('GET', `/v1/stats/queries/${encodeURIComponent(id)}`);
          if (DONE.has(view.status) || Date.now() > until) {
            print(view, opts.format);
            if (view.status !== 'published') process.exitCode = ExitCode.FAILURE;
            return;
          }
          // What the query waits for, a new line only when that changes (the final view follows at the end).
          const waiting = statsWaitingLine(view);
          if (opts.format === 'text' && waiting && waiting !== lastWaiting) process.stdout.write(`${waiting}\n`);
          lastWaiting = waiting;
          await sleep(500);
        }
      } catch (err) {
        reportAndExit(err);
      }
    });
  withConnection(stats.command('show <id>').description("a statistics query's status and result, as your role may see it"))
    .action(async (id: string, opts: Options) => {
      try {
        const { client } = await connect(opts);
        print(await client.call<QueryView>('GET', `/v1/stats/queries/${encodeURIComponent(id)}`), opts.format);
      } catch (err) {
        reportAndExit(err);
      }
    });
}
