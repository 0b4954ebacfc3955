import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { prepareFixtures, type Fixtures } from './harness.js';
import { SCENARIOS } from './scenarios.js';
import { runScenario, type Row } from './run-scenario.js';
import { publishReport, saveReport } from './report.js';

/**
 * Fault injection with real processes: `medfed coordinator start` and `medfed agent start` as separate
 * OS processes, PostgreSQL, gRPC and REST over TLS on loopback. Each scenario runs a small job
 * (3 training sites and an evaluator, 3 rounds, encrypted, DP-SGD) and injects one fault while it runs;
 * then the job must have completed, every closed round must hold exactly the contributions that were
 * sent and acknowledged, the sites' privacy ledgers must reconcile with the `privacy.spend` audit
 * events, `medfed audit verify` and `medfed model verify` must pass, and no coordinator may have
 * crashed or logged an unhandled error. One table of all scenarios is printed at the end (and written
 * under the suite's temporary directory, whose path is printed).
 *
 * Needs the built CLI (`npx tsc --build`) and PostgreSQL (coordinator/test/support/databases.ts).
 * MEDFED_FAULTS=baseline,agent-mid-upload runs a subset (by scenario id); MEDFED_FAULTS_KEEP=1 keeps
 * the scenarios' files after a green run too. test/faults/README.md lists the scenarios.
 */

const only = process.env.MEDFED_FAULTS?.split(',').map((s) => s.trim()).filter(Boolean);
const selected = SCENARIOS.filter((s) => !only || only.includes(s.id));

describe('fault injection: a federation job survives crashes, outages and corruption', () => {
  let fixtures: Fixtures;
  const rows: Row[] = [];

  beforeAll(async () => {
    fixtures = await prepareFixtures();
  });

  afterAll(async () => {
    if (!fixtures) return;
    if (rows.length > 0) await publishReport(rows, fixtures.root);
    // A green run keeps only its report; a red one keeps every process's output for inspection.
    if (rows.length === selected.length && rows.every((r) => r.problems.length === 0) && !process.env.MEDFED_FAULTS_KEEP) {
      await rm(join(fixtures.root, 'scenarios'), { recursive: true, force: true });
      await rm(join(fixtures.root, 'data'), { recursive: true, force: true });
      await rm(join(fixtures.root, 'tls'), { recursive: true, force: true });
    }
  });

  it.each(selected.map((s) => [s.fault, s] as const))('%s', async (_fault, scenario) => {
    const row = await runScenario(fixtures, scenario);
    rows.push(row);
    const file = await saveReport(rows, fixtures.root);
    process.stdout.write(`fault suite: ${row.id} ${row.problems.length === 0 ? 'ok' : `FAILED (${row.problems.length} problems)`} in ${row.seconds} s (table so far: ${file})\n`);
    expect(row.problems).toEqual([]);
  }, 600_000);
});
