/**
 * How fast a simulated run went and which updates arrived late, read from the job view. Loosely
 * typed on purpose: older coordinators report fewer fields, and a figure is only claimed where the
 * view carries it.
 */

interface RoundLike {
  readonly round?: unknown; readonly kind?: unknown; readonly status?: unknown;
  readonly openedAt?: unknown; readonly closedAt?: unknown;
  readonly late?: unknown; readonly contributions?: unknown;
}

export interface LateUpdate {
  readonly site: string;
  readonly staleness: number;
}

export interface RunTiming {
  /** Seconds from the job's creation to its completion. */
  readonly wall_seconds: number;
  /** Closed training rounds per minute, from the first training round's opening to the last one's close. */
  readonly rounds_per_minute: number;
  /** Where the span came from: the rounds' own timestamps, or the job's creation and completion. */
  readonly span: 'rounds' | 'job';
}

function timeOf(value: unknown): number | null {
  if (typeof value !== 'string' && !(value instanceof Date)) return null;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms : null;
}

/**
 * The run's wall-clock and pace. `observed` is this machine's clock when the job was created and when
 * it was seen finished; the coordinator's own timestamps (job creation, the last round's close) are
 * preferred where the view has them.
 */
export function runTiming(view: { readonly createdAt?: unknown; readonly rounds: readonly RoundLike[] },
  observed: { readonly jobCreatedAt: number; readonly jobFinishedAt: number }): RunTiming {
  const closes = view.rounds.map((r) => timeOf(r.closedAt));
  const allClosed = closes.length > 0 && closes.every((c) => c !== null);
  const start = timeOf(view.createdAt) ?? observed.jobCreatedAt;
  const end = allClosed ? Math.max(...(closes as number[])) : observed.jobFinishedAt;
  const wall = Math.max(0, end - start) / 1000;
  const training = view.rounds.filter((r) => r.kind === 'train' && r.status === 'closed');
  const opens = training.map((r) => timeOf(r.openedAt));
  const trainCloses = training.map((r) => timeOf(r.closedAt));
  if (training.length > 0 && opens.every((o) => o !== null) && trainCloses.every((c) => c !== null)) {
    const span = (Math.max(...(trainCloses as number[])) - Math.min(...(opens as number[]))) / 60_000;
    if (span > 0) return { wall_seconds: wall, rounds_per_minute: training.length / span, span: 'rounds' };
  }
  return { wall_seconds: wall, rounds_per_minute: wall > 0 ? training.length / (wall / 60) : 0, span: 'job' };
}

/**
 * The updates a round counted although they were trained for an earlier round: the view's
 * `rounds[i].late` where the coordinator reports it, else the contributions whose `baseRound` lies
 * before the round, else none.
 */
export function lateUpdatesOf(round: RoundLike): LateUpdate[] {
  const valid = (site: unknown, staleness: unknown): staleness is number =>
    typeof site === 'string' && typeof staleness === 'number' && Number.isSafeInteger(staleness) && staleness >= 1;
  if (Array.isArray(round.late)) {
    return round.late.flatMap((l: { site?: unknown; staleness?: unknown }) => (valid(l?.site, l?.staleness) ? [{ site: l.site as string, staleness: l.staleness }] : []));
  }
  if (Array.isArray(round.contributions) && typeof round.round === 'number') {
    const here = round.round;
    return round.contributions.flatMap((c: { site?: unknown; baseRound?: unknown }) => {
      const base = c?.baseRound;
      if (typeof base !== 'number' || base < 1) return [];
      const staleness = here - base;
      return valid(c.site, staleness) ? [{ site: c.site as string, staleness }] : [];
    });
  }
  return [];
}

/** One line for the human output listing the late updates per round, or saying there were none. */
export function lateLine(rounds: readonly { round: number; late: readonly LateUpdate[] }[]): string {
  const withLate = rounds.filter((r) => r.late.length > 0);
  if (withLate.length === 0) return 'late updates: none counted';
  return `late updates counted: ${withLate.map((r) => `round ${r.round}: ${r.late.map((l) => `${l.site} (staleness ${l.staleness})`).join(', ')}`).join('; ')}`;
}
