import type { Command } from 'commander';
import type { JobSummary, RestClient, WaitingEntryView } from '../federation/rest-client.js';
import { ExitCode } from '../exit-codes.js';
import { action, connect, parseJobId, withConnection, type Connection } from '../coordinator-connection.js';

/**
 * `medfed runs ls | show ID | logs [-f] ID | stop ID` against a running coordinator. Quiet by default:
 * one compact block per closed round, a `waiting:` line whenever what the run waits for changes, and
 * a final summary; `--format json` prints JSON (one object, or
 * one per line for `logs`); bars only when stdout is a terminal, plain lines otherwise.
 */

export interface Overview {
  job: { id: string; name: string; owner: string; status: string; failure: string | null; createdAt: string; currentRound: number;
    totalRounds: number; roundsDone: number; waiting: WaitingEntryView[]; waitingSummary: string;
    rounds: { round: number; kind: string; status: string; failure: string | null; contributors: number; closedAt: string | null }[] };
  figures: { round: number; loss: number; accuracy: number; numSamples: number; source: string }[];
  sites: { id: string; online: boolean; secondsSinceSeen: number | null; samples: number | null; latest: { loss: number; accuracy: number } | null }[];
  failures: { site: string; round: number; error: string; log: string }[];
  privacy: { budgets: { name: string; epsilon: number; spent: number }[] } | null;
  models: { round: number; sha256: string }[] | null;
}

// ---- rendering ---------------------------------------------------------------------------

const tty = () => process.stdout.isTTY === true;
export const bar = (done: number, total: number, width = 12): string => {
  const filled = total > 0 ? Math.round((Math.min(done, total) / total) * width) : 0;
  return tty() ? `${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${done}/${total}` : `${done}/${total}`;
};
const fixed = (v: number | undefined, d: number) => (v === undefined ? '-' : v.toFixed(d));

/** One run (job) of a list: id, name, status, rounds done/total, created, owner. */
export function jobLine(j: JobSummary): string {
  const done = j.status === 'completed' ? j.totalRounds : Math.max(0, Math.min(j.currentRound - 1, j.totalRounds));
  return `${j.id}  ${j.name}  ${j.status}  ${bar(done, j.totalRounds)}  ${new Date(j.createdAt).toISOString()}  ${j.owner}`;
}

function roundBlock(o: Overview, round: Overview['job']['rounds'][number]): string {
  const f = o.figures.find((x) => x.round === round.round);
  const head = `round ${round.round} (${round.kind}) ${round.status}: ${round.contributors} contribution(s)`;
  const figure = f ? `  loss ${fixed(f.loss, 4)}  accuracy ${fixed(f.accuracy, 3)}  n ${f.numSamples} (${f.source})` : '';
  const fails = o.failures.filter((x) => x.round === round.round).map((x) => `\n  failed: ${x.site}: ${x.error} (log: ${x.log})`).join('');
  return `${head}${figure}${round.failure ? `\n  ${round.failure}` : ''}${fails}`;
}

function summary(o: Overview) {
  const digest = o.models?.at(-1)?.sha256 ?? null;
  const spent = o.privacy?.budgets.length ? o.privacy.budgets.map((b) => `${b.name} ${b.spent.toFixed(3)}/${b.epsilon.toFixed(3)}`).join(', ') : null;
  return { outcome: o.job.status, failure: o.job.failure, roundsDone: o.job.roundsDone, totalRounds: o.job.totalRounds, modelSha256: digest,
    epsilonSpent: spent, exports: [] as string[] };
}

function summaryText(o: Overview): string {
  const s = summary(o);
  return [`outcome: ${s.outcome}${s.failure ? ` (${s.failure})` : ''}`, `rounds: ${bar(s.roundsDone, s.totalRounds)}`,
    `model: ${s.modelSha256 ?? 'not visible to this role'}`, `epsilon spent: ${s.epsilonSpent ?? 'not recorded'}`,
    `exports: ${s.exports.length ? s.exports.join(', ') : 'none'}`].join('\n');
}

/** What a running run waits for, as one line (coordinator/src/federation/waiting.ts); '' when it is finished. */
export function waitingLine(o: Pick<Overview, 'job'>): string {
  return o.job.status === 'running' && o.job.waitingSummary ? `waiting: ${o.job.waitingSummary}` : '';
}

export function showText(o: Overview): string {
  const j = o.job;
  const lines = [`${j.name} (${j.id})  ${j.status}  rounds ${bar(j.roundsDone, j.totalRounds)}  owner ${j.owner}`];
  const waiting = waitingLine(o);
  if (waiting) lines.push(waiting);
  for (const s of o.sites) {
    lines.push(`  ${s.id.padEnd(16)} ${s.online ? 'online ' : 'offline'} ${s.secondsSinceSeen === null ? 'never seen' : `${s.secondsSinceSeen}s ago`}`
      + `  samples ${s.samples ?? '-'}  loss ${fixed(s.latest?.loss, 4)}  accuracy ${fixed(s.latest?.accuracy, 3)}`);
  }
  for (const f of o.failures) lines.push(`  failed: ${f.site} round ${f.round}: ${f.error} (log: ${f.log})`);
  if (j.status !== 'running') lines.push(summaryText(o));
  return lines.join('\n');
}

// ---- the event stream --------------------------------------------------------------------

/** Reads `GET /v1/jobs/:id/events` and calls `onOverview` per snapshot; resolves on `end`, rejects on a refusal. */
async function follow(client: RestClient, id: string, onOverview: (o: Overview) => void): Promise<void> {
  for (;;) {
    // No idle limit: the stream is quiet between rounds.
    const res = await client.open('GET', `/v1/jobs/${encodeURIComponent(id)}/events`, { accept: 'text/event-stream', idleMs: 0 });
    let buf = '';
    let ended = false;
    for await (const chunk of res) {
      buf += (chunk as Buffer).toString('utf8');
      let cut: number;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        if (event === 'overview') onOverview(JSON.parse(data) as Overview);
        if (event === 'end') ended = true;
      }
    }
    if (ended) return;
    // `reauth` (the token expired) or a dropped connection: reconnect with a fresh token.
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Prints each round once, when it closes or fails, and what the run waits for each time that
 * changes (`waiting: ...`); `json`: one line per round and per change of `waiting`, then the summary.
 */
export function roundPrinter(format: 'text' | 'json', out: { write(text: string): unknown } = process.stdout) {
  const printed = new Set<number>();
  let lastWaiting = '';
  return (o: Overview) => {
    for (const r of o.job.rounds) {
      if (printed.has(r.round) || (r.status !== 'closed' && r.status !== 'failed')) continue;
      printed.add(r.round);
      const f = o.figures.find((x) => x.round === r.round) ?? null;
      out.write(format === 'json'
        ? `${JSON.stringify({ event: 'round', round: r.round, kind: r.kind, status: r.status, contributors: r.contributors, figure: f,
          failures: o.failures.filter((x) => x.round === r.round) })}\n`
        : `${roundBlock(o, r)}\n`);
    }
    // A new line only when what the run waits for changes: logs and pipes stay line-based and quiet.
    const waiting = o.job.status === 'running' ? o.job.waitingSummary : '';
    if (waiting && waiting !== lastWaiting) {
      out.write(format === 'json'
        ? `${JSON.stringify({ event: 'waiting', round: o.job.currentRound, waiting: o.job.waiting, waitingSummary: waiting })}\n`
        : `${waitingLine(o)}\n`);
    }
    lastWaiting = waiting;
  };
}

// ---- commands ----------------------------------------------------------------------------

export function register(program: Command): void {
  const runs = program.command('runs').description('list, inspect, follow and stop federated training runs on a running coordinator');

  withConnection(runs.command('ls').description('list runs: name, status, rounds done/total, created, owner'))
    .action(action(async (opts: Connection) => {
      const { client } = await connect(opts);
      const jobs = await client.jobs();
      if (opts.format === 'json') return void process.stdout.write(`${JSON.stringify({ runs: jobs })}\n`);
      if (jobs.length === 0) return void process.stdout.write('no runs\n');
      for (const j of jobs) process.stdout.write(`${jobLine(j)}\n`);
    }));

  withConnection(runs.command('show').description('one run: progress, what the current round waits for, sites, failures').argument('<id>', 'run (job) id', parseJobId))
    .action(action(async (id: string, opts: Connection) => {
      const { client } = await connect(opts);
      const o = await client.call<Overview>('GET', `/v1/jobs/${encodeURIComponent(id)}/overview`);
      process.stdout.write(opts.format === 'json' ? `${JSON.stringify(o)}\n` : `${showText(o)}\n`);
    }));

  withConnection(runs.command('logs').description('one block per round of a run; with -f, follow it live until it ends, then print the summary')
    .argument('<id>', 'run (job) id', parseJobId)
    .option('-f, --follow', 'keep printing rounds as they close until the run ends'))
    .action(action(async (id: string, opts: Connection & { follow?: boolean }) => {
      const { client } = await connect(opts);
      const print = roundPrinter(opts.format);
      let last: Overview | null = null;
      if (opts.follow) {
        await follow(client, id, (o) => { last = o; print(o); });
      } else {
        last = await client.call<Overview>('GET', `/v1/jobs/${encodeURIComponent(id)}/overview`);
        print(last);
      }
      const o = last as Overview | null;
      if (!o) return;
      if (opts.format === 'json') process.stdout.write(`${JSON.stringify({ event: 'summary', ...summary(o) })}\n`);
      else if (o.job.status !== 'running') process.stdout.write(`${summaryText(o)}\n`);
      if (o.job.status === 'failed') process.exit(ExitCode.FAILURE);
    }));

  withConnection(runs.command('stop').description('stop a run (admin, researcher)').argument('<id>', 'run (job) id', parseJobId)
    .option('--reason <text>', 'why; recorded in the audit trail'))
    .action(action(async (id: string, opts: Connection & { reason?: string }) => {
      const { client } = await connect(opts);
      const r = await client.call<{ id: string; status: string }>('POST', `/v1/jobs/${encodeURIComponent(id)}/stop`, opts.reason ? { reason: opts.reason } : {});
      process.stdout.write(opts.format === 'json' ? `${JSON.stringify(r)}\n` : `${r.id} ${r.status}\n`);
    }));
}
