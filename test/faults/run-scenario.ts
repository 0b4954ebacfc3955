import type { JobViewBody } from '../../cli/src/federation/rest-client.js';
import { describeLine, Federation, type Fixtures } from './harness.js';
import type { FaultContext, Scenario } from './scenarios.js';

/** How long a scenario's job may run (a busy 2-core CI machine included). */
const JOB_TIMEOUT_MS = 360_000;

/** One line of the suite's table, and what failed. */
export interface Row {
  readonly id: string;
  readonly fault: string;
  phase: string;
  contributions: string;
  ledger: string;
  audit: string;
  model: string;
  job: string;
  seconds: number;
  readonly notes: string[];
  readonly problems: string[];
  dir: string;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs one scenario end to end: a fresh federation, the job, the fault, then every post-condition. */
export async function runScenario(fixtures: Fixtures, scenario: Scenario): Promise<Row> {
  const started = Date.now();
  const row: Row = {
    id: scenario.id, fault: scenario.fault, phase: scenario.inject ? '(not reached)' : '—', contributions: '?', ledger: '?', audit: '?', model: '?',
    job: '?', seconds: 0, notes: [], problems: [], dir: '',
  };
  const fed = new Federation({ id: scenario.id, fixtures, ...scenario.federation });
  row.dir = fed.dir;
  const controller = new AbortController();
  const ctx: FaultContext = {
    fed,
    signal: controller.signal,
    phase: (line, what) => { row.phase = line ? `${describeLine(line)} → ${what}` : what; },
    note: (text) => { row.notes.push(text); },
    problem: (text) => { row.problems.push(text); },
  };
  try {
    try {
      await fed.start();
      await fed.createJob();
    } catch (err) {
      row.problems.push(`setup: ${message(err)}`);
      return row;
    }
    const injected = (scenario.inject?.(ctx) ?? Promise.resolve()).catch((err: unknown) => {
      row.problems.push(`fault injection: ${message(err)}`);
      controller.abort('the fault injection failed');
    });
    let view: JobViewBody | null = null;
    try {
      view = await fed.waitForJob(controller.signal, JOB_TIMEOUT_MS);
    } catch (err) {
      if (!controller.signal.aborted) row.problems.push(`job: ${message(err)}`);
    }
    controller.abort('the job ended');
    await injected;
    if (!view) view = await fed.jobView().catch(() => null);
    row.job = view ? `${view.status}${view.failure ? `: ${view.failure.slice(0, 80)}` : ''}` : 'unknown';
    const expected = scenario.expect ?? { status: 'completed' };
    if (view && view.status !== expected.status) {
      row.problems.push(`job ${fed.jobId} ${view.status} (${view.failure ?? 'no reason'}), expected ${expected.status}`);
      if (view.waitingSummary) row.notes.push(`waiting: ${view.waitingSummary}`);
      for (const s of view.sites) for (const f of s.failures) row.notes.push(`${s.id} failed round ${f.round}: ${(f.detail ?? '').slice(0, 200)}`);
    }
    if (view && expected.status === 'failed' && !(view.failure ?? '').includes(expected.reason)) {
      row.problems.push(`job failed with "${view.failure}", expected reason ${expected.reason}`);
    }

    const contributions = await fed.contributions().catch((err: unknown) => ({ error: message(err) }));
    if ('error' in contributions) {
      row.contributions = 'error';
      row.problems.push(`contributions: ${contributions.error}`);
    } else {
      const sent = contributions.sent === null ? 'n/a' : `${contributions.sent}`;
      const retries = contributions.attempts !== null && contributions.sent !== null && contributions.attempts > contributions.sent ? ` (${contributions.attempts} attempts)` : '';
      row.contributions = `${sent} / ${contributions.acknowledged} / ${contributions.aggregated}${retries}${contributions.problems.length ? ' ✗' : ''}`;
      if (contributions.sent === null) row.notes.push('no agent logged \'upload started\': sent not counted');
      row.problems.push(...contributions.problems);
    }
    const privacy = await fed.privacy().catch((err: unknown) => ({ error: message(err) }));
    if ('error' in privacy) {
      row.ledger = 'error';
      row.problems.push(`privacy: ${privacy.error}`);
    } else {
      row.ledger = `${privacy.charges} ${privacy.problems.length ? '≠' : '='} ${privacy.events}`;
      row.problems.push(...privacy.problems);
    }
    if (view && view.status !== 'running') {
      const { audit, model } = await fed.verifyExports(view);
      row.audit = audit.detail.startsWith('pass') ? 'pass' : 'FAIL';
      row.model = model.ok === null ? 'n/a' : model.ok ? 'pass' : 'FAIL';
      if (!audit.ok) row.problems.push(`audit: ${audit.detail}`);
      if (model.ok === false) row.problems.push(`model: ${model.detail}`);
    } else {
      row.audit = 'not run';
      row.model = 'not run';
    }
    if (scenario.verify) row.problems.push(...await scenario.verify(ctx).catch((err: unknown) => [`verify: ${message(err)}`]));
    row.problems.push(...fed.coordinatorHealth());
    row.notes.push(...fed.agentExits());
    return row;
  } finally {
    controller.abort('the scenario ended');
    await fed.stop().catch((err: unknown) => { row.problems.push(`teardown: ${message(err)}`); });
    row.seconds = Math.round((Date.now() - started) / 1000);
  }
}
