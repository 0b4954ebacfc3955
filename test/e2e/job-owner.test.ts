import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JobSpec } from '@medfed/proto';
import { personToken, rest } from '../../coordinator/test/auth/support.js';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';

const spec: JobSpec = {
  name: 'owned', features: ['f1'], label: 'y', classes: ['n', 'y'], model: { hidden: [], activation: 'relu' },
  training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 1 },
  rounds: 1, minSites: 1, roundDeadlineSeconds: 600, strategy: { name: 'fedavg' }, sites: ['site-a'], standardization: 'none',
  encryption: { enabled: false },
};

describe("a job's owner is the authenticated principal that created it", () => {
  let t: TestCoordinator;

  beforeAll(async () => {
    t = await startTestCoordinator('postgres');
    await t.coordinator.engine.registerSite('site-a', 'Hospital A');
  });
  afterAll(async () => {
    await t.stop();
  });

  it('refuses an owner named by the caller (JOB_OWNER_NOT_SETTABLE) and creates nothing', async () => {
    const { token } = await personToken(t.coordinator, 'researcher');
    const headers = { authorization: `Bearer ${token}` };
    const forged = await rest(t.coordinator, 'POST', '/v1/jobs', { headers, body: { spec, owner: 'key:someone-else' } });
    expect(forged.status).toBe(400);
    expect(forged.body.code).toBe('JOB_OWNER_NOT_SETTABLE');
    const { rows } = await t.coordinator.db.query<{ n: string }>('SELECT count(*) AS n FROM jobs');
    expect(Number(rows[0]!.n)).toBe(0);
  });

  it('records the creating principal as the owner', async () => {
    const { token } = await personToken(t.coordinator, 'researcher');
    const headers = { authorization: `Bearer ${token}` };
    const whoami = await rest(t.coordinator, 'GET', '/v1/auth/whoami', { headers });
    const created = await rest(t.coordinator, 'POST', '/v1/jobs', { headers, body: { spec } });
    expect(created.status).toBe(201);
    const job = await rest(t.coordinator, 'GET', `/v1/jobs/${String(created.body.id)}`, { headers });
    expect(job.body.owner).toBe(whoami.body.sub);
  });
});
