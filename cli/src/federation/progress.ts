import type { JobViewBody } from './rest-client.js';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

type Figure = JobViewBody['figures'][number];

/** What a round line measures: the held-out test set of the evaluator sites, else the training sites' own data. */
export function measureOf(view: Pick<JobViewBody, 'sites'>): 'held-out' | 'training-sites' {
  return view.sites.some((s) => s.role === 'evaluator') ? 'held-out' : 'training-sites';
}

/** One round's line, labelled with what it measures, e.g. `round  3/30  held-out loss 0.5123  accuracy 78.4%`. */
export function roundLine(f: Figure, totalRounds: number, measure: 'held-out' | 'training-sites'): string {
  const label = measure === 'held-out' ? 'held-out' : 'sample-weighted training-site';
  return `round ${String(f.round).padStart(2)}/${totalRounds}  ${label} loss ${f.loss.toFixed(4)}  accuracy ${pct(f.accuracy)}`;
}

/** Waits that only a person (a steward, a site's IT) can end: shown at once. */
const NEEDS_A_PERSON = new Set(['approval', 'site-list-approval', 'offline', 'data-refused']);

/**
 * The live per-round view: one line per finished round, always the same measure (with an evaluator
 * site, the held-out evaluation, which arrives a round after the sites' own: a round is printed
 * once it is there). What the run waits for: on a terminal, a status line underneath; elsewhere a
 * `waiting:` line when it needs a person (an approval, an offline or refusing site) or when the same
 * wait has lasted `stallMs`; routine waits between rounds stay quiet.
 */
export class RoundProgress {
  private readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  private readonly tty: boolean;
  private printed = new Set<number>();
  private statusShown = false;
  private lastWaiting = '';
  private waitingSince = 0;
  private printedWaiting = '';
  private readonly started = Date.now();
  private readonly stallMs: number;
  private readonly now: () => number;

  constructor(out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number } = process.stdout, options: { stallMs?: number; now?: () => number } = {}) {
    this.out = out;
    this.tty = Boolean(out.isTTY);
    this.stallMs = options.stallMs ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  update(view: JobViewBody): void {
    this.clearStatus();
    const measure = measureOf(view);
    for (const f of view.figures) {
      if (this.printed.has(f.round) || (measure === 'held-out' && f.source !== 'evaluator')) continue;
      this.printed.add(f.round);
      this.out.write(`${roundLine(f, view.totalRounds, measure)}\n`);
    }
    const waiting = view.status === 'running' ? view.waitingSummary : '';
    if (!this.tty) {
      if (waiting !== this.lastWaiting) {
        this.lastWaiting = waiting;
        this.waitingSince = this.now();
      }
      const needsPerson = view.waiting.some((w) => NEEDS_A_PERSON.has(w.reason));
      const stalled = this.now() - this.waitingSince >= this.stallMs;
      if (waiting && waiting !== this.printedWaiting && (needsPerson || stalled)) {
        this.out.write(`  waiting: ${waiting}\n`);
        this.printedWaiting = waiting;
      }
      return;
    }
    if (view.status === 'running') {
      const done = view.roundsDone;
      const width = 20;
      const filled = Math.round((done / Math.max(1, view.totalRounds)) * width);
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
      const line = `${bar} ${done}/${view.totalRounds} rounds  ${waiting || 'starting'}  ${Math.round((Date.now() - this.started) / 1000)} s`;
      this.out.write(line.slice(0, (this.out.columns || 120) - 1));
      this.statusShown = true;
    }
  }

  private clearStatus(): void {
    if (this.statusShown) {
      this.out.write('\r\x1b[2K');
      this.statusShown = false;
    }
  }

  finish(): void {
    this.clearStatus();
  }
}

/** The closing table: global (held-out) and per-site loss/accuracy of the final model. */
export function finalTable(view: JobViewBody): string {
  const finalRound = view.totalRounds;
  const rows: [string, string, string, string][] = [['site', 'samples', 'loss', 'accuracy']];
  const finals = view.metrics.filter((m) => m.phase === 'eval' && m.modelRound === finalRound);
  for (const m of finals.sort((a, b) => a.site.localeCompare(b.site))) {
    const role = view.sites.find((s) => s.id === m.site)?.role;
    rows.push([`${m.site}${role === 'evaluator' ? ' (held-out test)' : ''}`, String(m.numSamples), m.loss.toFixed(4), pct(m.accuracy)]);
  }
  const global = view.figures.find((f) => f.round === finalRound);
  if (global) rows.push([`global (${global.source === 'evaluator' ? 'held-out test' : 'sample-weighted'})`, String(global.numSamples), global.loss.toFixed(4), pct(global.accuracy)]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [fmt(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(fmt)].join('\n');
}
