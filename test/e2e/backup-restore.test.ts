import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { access, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readReanchorRecords, viewOfNote, type LogView } from '@medfed/node-agent/verification/index';
import { freshDatabase, type TestDb } from '../../coordinator/test/support/databases.js';
import { runCli } from '../support/cli.js';
import { requireBinary } from '../support/require-binary.js';
import type { LogLine } from '../support/processes.js';
import { childEnv, Federation, prepareFixtures, type Fixtures } from '../faults/harness.js';

/**
 * Backup and restore of the coordinator's PostgreSQL database (docs/operations.md, "Backup and
 * restore"), with real processes: `medfed coordinator start` (TLS, PostgreSQL) and three
 * `medfed agent start` processes, each behind its own loopback TCP proxy (the fault-injection
 * harness, test/faults/harness.ts), running an encrypted DP-SGD job (statistics round, one
 * training round, evaluation round).
 *
 * (a) pg_dump (custom format) of the running coordinator's database mid-job; the coordinator stops;
 *     the dump goes into a FRESH database with pg_restore; a coordinator with the same dataDir starts
 *     on it; the agents reconnect and the job completes. The sites' links are held for the few
 *     seconds between the dump and the stop, so that no site verifies a checkpoint newer than the
 *     dump (that would make it a rollback, which is part (b)).
 * (b) the same (now early) dump restored once more into a fresh database after the job had gone on,
 *     so the restored log is smaller than what every site has verified and co-signed: every agent
 *     refuses it with TLOG_ROLLBACK (the job fails for want of sites), and nothing is accepted until
 *     each site steward re-anchors with `medfed agent reanchor-log --confirm SIZE:ROOT` (agent
 *     stopped); then a new job completes.
 *
 * Needs the built CLI (`npx tsc --build`), PostgreSQL and pg_dump/pg_restore on the PATH.
 */

const run = promisify(execFile);
const TLOG_CONFLICT = new Set(['TLOG_ROLLBACK', 'TLOG_CONSISTENCY_INVALID']);

async function pgDump(db: TestDb, file: string): Promise<void> {
  await run(requireBinary('pg_dump', 'postgresql-client'), ['--format=custom', `--file=${file}`, `--dbname=${db.url}`]);
}

/** pg_restore into a new, empty database (as docs/operations.md says: never over a used one). */
async function restoreIntoFresh(file: string): Promise<TestDb> {
  const db = await freshDatabase('postgres', { migrate: false });
  await run(requireBinary('pg_restore', 'postgresql-client'), ['--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', `--dbname=${db.url}`, file]);
  return db;
}

describe('backup and restore: pg_dump / pg_restore of a running federation (real processes, PostgreSQL, TLS)', () => {
  let fixtures: Fixtures;
  let fed: Federation;
  let dumpFile = '';
  /** Every database this suite made (the federation's own first). */
  const databases: TestDb[] = [];
  let firstJob = '';
  /** The size of the log in the dump. */
  let dumpedSize = 0;

  const sites = () => fed.trainers;
  const controller = new AbortController();
  let passed = 0;

  async function savedView(site: string): Promise<LogView> {
    return viewOfNote(await readFile(join(fed.agent(site).stateDir, 'verification', 'checkpoint.txt'), 'utf8'));
  }

  async function tlogSize(): Promise<number> {
    const [row] = await fed.query<{ size: string }>('SELECT size FROM tlog_head');
    return Number(row!.size);
  }

  /** Points the coordinator's configuration at `db` (its dataDir and keys stay) and makes `db` the one the harness queries. */
  async function useDatabase(db: TestDb): Promise<void> {
    const replica = fed.replicas[0]!;
    const config = JSON.parse(await readFile(replica.configFile, 'utf8')) as Record<string, unknown>;
    await writeFile(replica.configFile, `${JSON.stringify({ ...config, databaseUrl: db.url }, null, 2)}\n`);
    fed.db = db;
  }

  const tlogRefusals = (site: string, from = 0): LogLine[] =>
    fed.agent(site).process!.lines.slice(from).filter((l) => TLOG_CONFLICT.has(String(l.json?.code)));

  beforeAll(async () => {
    const base = await prepareFixtures();
    fixtures = { ...base, spec: { ...base.spec, rounds: 1 } };
    fed = new Federation({ id: 'backup-restore', fixtures });
    await fed.start();
    databases.push(fed.db);
    dumpFile = join(fed.dir, 'coordinator.dump');
  }, 240_000);

  afterAll(async () => {
    controller.abort('the suite ended');
    await fed?.stop();
    for (const db of databases) await db.drop().catch(() => {});
    // Kept when a test failed: the processes' output, agent logs and state for a look.
    if (fixtures && passed === 2) await rm(fixtures.root, { recursive: true, force: true });
    else if (fixtures) process.stderr.write(`backup-restore: logs and state kept in ${fed?.dir ?? fixtures.root}\n`);
  }, 60_000);

  it('(a) a mid-job dump restored into a fresh database: the agents reconnect and the job completes', async () => {
    // Mid-job: round 1 open, one site's update stored, the other two still uploading (their uplinks
    // throttled, so that the dump cannot race a second upload on a fast machine).
    const [, ...slow] = sites();
    for (const s of slow) fed.agent(s).proxy!.throttle(2 * 1024, 'up');
    firstJob = await fed.createJob();
    await fed.coordinatorLog('update accepted', { job: firstJob, round: 1, received: 1 }, { signal: controller.signal });
    for (const s of sites()) fed.agent(s).proxy!.pause();
    await pgDump(fed.db, dumpFile);
    await fed.coordinator().stop();

    const restored = await restoreIntoFresh(dumpFile);
    databases.push(restored);
    await useDatabase(restored);
    dumpedSize = await tlogSize();
    const [{ n: stored }] = await fed.query<{ n: number }>('SELECT count(*)::int AS n FROM contributions WHERE job_id = $1 AND round = 1', [firstJob]) as [{ n: number }];
    expect(stored).toBeGreaterThanOrEqual(1);
    expect(stored).toBeLessThan(3);
    // A consistent restore: no site has verified more of the log than the dump holds (a site that has
    // verified nothing yet, its upload still throttled, has no saved view).
    for (const s of sites()) expect((await savedView(s).catch(() => ({ size: 0 }))).size).toBeLessThanOrEqual(dumpedSize);

    await fed.restartCoordinator();
    for (const s of sites()) {
      fed.agent(s).proxy!.throttle(null);
      fed.agent(s).proxy!.resume();
    }
    const view = await fed.waitForJob(controller.signal, 240_000);
    expect({ status: view.status, failure: view.failure }).toEqual({ status: 'completed', failure: view.failure });

    // Each training round holds every site's update exactly once, none lost or doubled. (A site whose
    // upload was stored just as its link was cut never saw the acknowledgement; the restored
    // coordinator has that update from the dump and does not ask for it again.)
    const contributions = await fed.contributions();
    expect(contributions.problems.filter((p) => !p.endsWith('its agent never logged the acknowledgement'))).toEqual([]);
    expect(contributions.aggregated).toBe(sites().length);
    // A site whose acknowledgement was lost sends its round's train metrics (and ledger charge) again
    // once it reaches the restored coordinator: the ledgers reconcile after that, not necessarily
    // before the job's last round closed.
    let privacy = await fed.privacy();
    for (const end = Date.now() + 90_000; privacy.problems.length > 0 && Date.now() < end;) {
      await new Promise((r) => setTimeout(r, 1000));
      privacy = await fed.privacy();
    }
    expect(privacy.problems).toEqual([]);
    for (const s of sites()) {
      expect(tlogRefusals(s)).toEqual([]);
      // The sites verified the restored log as it grew: every later model extends what they had seen.
      expect((await savedView(s)).size).toBeGreaterThan(dumpedSize);
    }
    expect(fed.coordinatorHealth()).toEqual([]);
    passed++;
  }, 360_000);

  it('(b) the early dump restored after the job went on: the agents refuse the rollback (TLOG_ROLLBACK) until their stewards re-anchor; then a new job completes', async () => {
    expect(firstJob).not.toBe('');
    const before = new Map<string, LogView>();
    for (const s of sites()) before.set(s, await savedView(s));

    await fed.coordinator().stop();
    const rolledBack = await restoreIntoFresh(dumpFile);
    databases.push(rolledBack);
    await useDatabase(rolledBack);
    expect(await tlogSize()).toBe(dumpedSize);
    for (const s of sites()) expect(before.get(s)!.size).toBeGreaterThan(dumpedSize);

    // A site notices when it next downloads a model. Sites whose round-1 update is in the dump have
    // nothing to do in the restored job; the others are handed round 1 again and download its model.
    const submitted = (await fed.query<{ site_id: string }>(
      `SELECT site_id FROM site_tasks WHERE job_id = $1 AND round = 1 AND state = 'submitted'`, [firstJob])).map((r) => r.site_id);
    const handedOut = sites().filter((s) => !submitted.includes(s));
    expect(submitted.length).toBeGreaterThanOrEqual(1);
    expect(handedOut.length).toBeGreaterThanOrEqual(1);

    const from = new Map(sites().map((s) => [s, fed.agent(s).process!.lines.length]));
    await fed.restartCoordinator();

    // Every agent that downloads refuses the restored log: the documented log line, with the code.
    const refusals = await Promise.all(handedOut.map((s) => fed.agent(s).process!.waitFor(
      (l) => l.source === 'log' && l.json?.code === 'TLOG_ROLLBACK' && String(l.json?.msg).startsWith('task refused or failed: TLOG_ROLLBACK: '),
      { what: `${s}: 'task refused or failed: TLOG_ROLLBACK: ...' {code: TLOG_ROLLBACK}`, timeoutMs: 120_000, from: from.get(s)! })));
    for (const line of refusals) {
      expect(line.json!.job).toBe(firstJob);
      expect(line.json!.level).toBe(50);
      expect(String(line.json!.msg)).toContain('medfed agent reanchor-log');
    }
    // The restored coordinator's job cannot go on without them; nothing was accepted at any site.
    const failed = await fed.waitForJob(controller.signal, 120_000);
    expect(failed.status).toBe('failed');
    expect(failed.failure).toMatch(/\(failed\)/);
    for (const s of sites()) expect(await savedView(s)).toEqual(before.get(s));
    for (const s of handedOut) {
      const refused = viewOfNote(await readFile(join(fed.agent(s).stateDir, 'verification', 'refused-checkpoint.txt'), 'utf8'));
      expect(refused.size).toBeLessThan(before.get(s)!.size);
    }

    // The operators announce the restored log's checkpoint (out of band); the note is handed over as a file too.
    const announced = await (await fed.rest()).call<{ tree_size: number; checkpoint: string }>('GET', '/v1/log/checkpoint');
    const operatorFile = join(fed.dir, 'announced-checkpoint.txt');
    await writeFile(operatorFile, announced.checkpoint);
    const announcedView = viewOfNote(announced.checkpoint);

    // Each steward: stop the agent, look, refuse a value that is not the announced one, confirm the right one.
    await Promise.all(sites().map((s) => fed.agent(s).process!.stop()));
    const cli = (args: string[]) => runCli(['agent', 'reanchor-log', ...args, '--json'], { env: childEnv(), timeoutMs: 60_000 });
    await Promise.all(sites().map(async (s) => {
      const a = fed.agent(s);
      // A site that refused a checkpoint anchors on that one (no larger than the announced one: the
      // restored log only grows); a site that refused nothing yet (its steward was told by the
      // operators) anchors on the operators' file. Without --confirm nothing changes.
      const refusedOne = handedOut.includes(s);
      const source = refusedOne ? [] : ['--checkpoint', operatorFile];
      if (s === submitted[0]) expect((await cli(['--config', a.configFile])).stderr).toContain('USAGE_NO_CHECKPOINT');
      const look = await cli(['--config', a.configFile, ...source]);
      expect({ site: s, code: look.code }).toEqual({ site: s, code: 2 });
      expect(look.stderr).toContain('USAGE_CONFIRMATION_REQUIRED');
      const plan = JSON.parse(look.stdout.trim()) as { event: string; saved: LogView; candidate: LogView; relation: string };
      expect(plan).toMatchObject({ event: 'log-reanchor-plan', saved: before.get(s) });
      expect(plan.relation).not.toBe('same');
      if (refusedOne) {
        expect(plan.relation).toBe('smaller');
        expect(plan.candidate.size).toBeLessThanOrEqual(announcedView.size);
      } else {
        expect(plan.candidate).toEqual(announcedView);
      }

      if (s === handedOut[0]) {
        const wrong = await cli(['--config', a.configFile, ...source, '--confirm', `${before.get(s)!.size}:${before.get(s)!.rootHash}`]);
        expect({ site: s, code: wrong.code }).toEqual({ site: s, code: 8 });
        expect(wrong.stderr).toContain('REANCHOR_NOT_CONFIRMED');
        expect(await savedView(s)).toEqual(before.get(s));
      }

      const done = await cli(['--config', a.configFile, ...source, '--confirm', `${plan.candidate.size}:${plan.candidate.rootHash}`, '--by', `steward-${s}`]);
      expect({ site: s, code: done.code, stderr: done.stderr }).toEqual({ site: s, code: 0, stderr: '' });
      expect(JSON.parse(done.stdout.trim())).toMatchObject({ event: 'log-reanchored', saved: before.get(s), candidate: plan.candidate });
      expect(await savedView(s)).toEqual(plan.candidate);
      const records = await readReanchorRecords(a.stateDir);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ by: `steward-${s}`, relation: plan.relation, previous: before.get(s), anchor: plan.candidate });
      expect(records[0]!.refusedNote !== null).toBe(refusedOne);
      await access(records[0]!.superseded!);
      await expect(access(join(a.stateDir, 'verification', 'refused-checkpoint.txt'))).rejects.toThrow();
    }));

    // The agents start again and the federation works: a new job completes on the restored coordinator.
    const restartedAt = new Map(sites().map((s) => [s, fed.agent(s).process!.lines.length]));
    for (const s of sites()) fed.agent(s).process!.restart();
    const secondJob = await fed.createJob();
    expect(secondJob).not.toBe(firstJob);
    const view = await fed.waitForJob(controller.signal, 240_000);
    expect({ status: view.status, failure: view.failure }).toEqual({ status: 'completed', failure: view.failure });
    for (const s of sites()) {
      await fed.agent(s).process!.flush(); // a stopped process's log file is no longer tailed by itself
      expect(tlogRefusals(s, restartedAt.get(s)!)).toEqual([]);
      const anchor = (await readReanchorRecords(fed.agent(s).stateDir))[0]!.anchor;
      expect((await savedView(s)).size).toBeGreaterThan(anchor.size);
    }
    expect(fed.coordinatorHealth()).toEqual([]);
    passed++;
  }, 420_000);
});
