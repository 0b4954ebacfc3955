import type { JobViewBody } from './rest-client.js';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/**
 * The live per-round view: one compact line per finished round; on a terminal, a status line
 * underneath that says what the current round waits for. Plain lines when stdout is not a TTY.
 */
export class RoundProgress {
  private readonly out: NodeJS.WriteStream;
  private readonly tty: boolean;
  private printed = new Set<number>();
  private statusShown = false;
  private readonly started = Date.now();

  constructor(out: NodeJS.WriteStream = process.stdout) {
    this.out = out;
    this.tty = Boolean(out.isTTY);
  }

  update(view: JobViewBody): void {
    this.clearStatus();
    for (const f of view.figures) {
      if (this.printed.has(f.round)) continue;
      this.printed.add(f.round);
      const round = view.rounds.find((r) => r.round === f.round);
      const sites = round?.contributions.length ?? 0;
      this.out.write(`round ${String(f.round).padStart(2)}/${view.totalRounds}  loss ${f.loss.toFixed(4)}  accuracy ${pct(f.accuracy).padStart(6)}  `
        + `(${sites} site${sites === 1 ? '' : 's'}, measured on ${f.source === 'evaluator' ? 'held-out test data' : 'site data'})\n`);
    }
    if (this.tty && view.status === 'running') {
      const done = view.roundsDone;
      const width = 20;
      const filled = Math.round((done / Math.max(1, view.totalRounds)) * width);
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
      const phase = view.rounds.find((r) => r.round === view.currentRound)?.kind ?? '';
      const line = `${bar} ${done}/${view.totalRounds} rounds  ${phase} round ${view.currentRound}: ${view.waiting?.summary ?? view.status}  ${Math.round((Date.now() - this.started) / 1000)} s`;
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
