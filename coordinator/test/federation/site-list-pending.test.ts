import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JobSpec } from '@medfed/proto';
import { startTestCoordinator, type TestCoordinator } from '../../../test/support/coordinator.js';

/**
 * An agent whose steward has not approved the job's site list yet refuses its key-ceremony step and
 * reports `HE_SITE_LIST_UNSIGNED` in a heartbeat (node-agent tasks/key-task.ts). That step stays
 * pending until the steward approves (medfed agent approve-site-list), so the report must not fail
 * the site's part of the round: with every site waiting for its steward, the job would otherwise fail
 * at once, before any steward could approve the list the refusal announced.
 */
const SITES = ['site-a', 'site-b', 'site-c'];
const spec: JobSpec = {
  name: 'pending', features: ['f1', 'f2'], label: 'y', classes: ['n', 'y'], model: { hidden: [], activation: 'relu' },
  training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 1 }, rounds: 1, minSites: 3,
  roundDeadlineSeconds: 600, strategy: { name: 'fedavg' }, sites: SITES, standardization: 'none',
};

describe('a key-ceremony step awaiting the steward is no failure of the round', () => {
  let t: TestCoordinator;

  beforeAll(async () => {
    t = await startTestCoordinator('pglite');
    for (const id of SITES) await t.coordinator.engine.registerSite(id, id);
  });
  afterAll(async () => {
    await t.stop();
  });

  const tasks = async (job: string) => (await t.coordinator.db.query<{ site_id: string; state: string }>(
    'SELECT site_id, state FROM site_tasks WHERE job_id = $1 ORDER BY site_id', [job])).rows;
  const status = async (job: string) => (await t.coordinator.db.query<{ status: string }>('SELECT status FROM jobs WHERE id = $1', [job])).rows[0]!.status;

  it('keeps the job running and records no failed task when every site reports HE_SITE_LIST_UNSIGNED', async () => {
    const job = await t.coordinator.engine.createJob({ ...spec, name: 'awaiting stewards' }, 'researcher');
    for (const site of SITES) {
      await t.coordinator.engine.reportFailure(site, job.id, job.current_round, `HE_SITE_LIST_UNSIGNED: job ${job.id} waits for this site's steward to approve its site list`);
    }
    await t.coordinator.engine.advance(job.id);
    expect(await tasks(job.id)).toEqual([]);
    expect(await status(job.id)).toBe('running');
  });

  it('still fails the round when every site reports a real failure', async () => {
    const job = await t.coordinator.engine.createJob({ ...spec, name: 'refused by every site' }, 'researcher');
    for (const site of SITES) await t.coordinator.engine.reportFailure(site, job.id, job.current_round, 'DATA_SCHEMA_MISMATCH: no column f2');
    await t.coordinator.engine.advance(job.id);
    expect((await tasks(job.id)).map((r) => r.state)).toEqual(['failed', 'failed', 'failed']);
    expect(await status(job.id)).toBe('failed');
  });
});
