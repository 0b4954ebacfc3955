import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pino from 'pino';
import type { JobSpec } from '@medfed/proto';
import { startTestCoordinator, type TestCoordinator } from '../../../test/support/coordinator.js';
import { NodeAgent } from '../../src/agent.js';
import { ApprovalStore } from '../../src/approvals/index.js';
import { loadAgentConfig } from '../../src/config/load.js';
import { channelCredentials, enrollAgent } from '../../src/identity/index.js';
import { AGENT_VERSION } from '../../src/agent.js';

const spec: JobSpec = {
  name: 'approval', features: ['f1', 'f2'], label: 'y', classes: ['low', 'high'], model: { hidden: [], activation: 'relu' },
  training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 7 },
  rounds: 1, minSites: 1, roundDeadlineSeconds: 120, strategy: { name: 'fedavg' }, sites: ['site-a'], standardization: 'none',
};

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe("the agent's dispatch gate: a job runs only once the site's steward approved it", () => {
  let t: TestCoordinator;
  let agent: NodeAgent;
  let running: Promise<void>;
  let stateDir: string;

  beforeAll(async () => {
    t = await startTestCoordinator('pglite');
    await t.coordinator.engine.registerSite('site-a', 'site-a');
    const dir = join(t.dataDir, 'site-a');
    stateDir = join(dir, 'state');
    await mkdir(dir, { recursive: true });
    const csv = join(dir, 'data.csv');
    await writeFile(csv, `mrn,f1,f2,y\n${Array.from({ length: 40 }, (_, i) => `MRN-${i},${i / 10},${(i % 7) / 3},${i % 2 ? 'high' : 'low'}`).join('\n')}\n`);
    // Two patients withdrew consent: they must not be among the samples the trainer gets.
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    await writeFile(join(stateDir, 'opt-out.txt'), 'MRN-3\nMRN-17\n');
    const { code } = await t.coordinator.auth.createEnrollmentCode('site-a', 'test');
    await enrollAgent({ coordinator: t.coordinator.grpc, channelCredentials: channelCredentials(t.coordinator.grpc, undefined), siteId: 'site-a', code, stateDir, agentVersion: AGENT_VERSION });
    const config = await loadAgentConfig({ env: {}, overrides: { siteId: 'site-a', 'coordinator.grpc': t.coordinator.grpc, 'data.csv': csv, 'data.label': 'y', stateDir, pollWaitMs: 500, heartbeatSeconds: 1, logLevel: 'silent' } });
    agent = new NodeAgent(config, pino({ level: 'silent' }));
    await agent.prepare();
    running = agent.run();
  });
  afterAll(async () => {
    await agent?.stop();
    await running?.catch(() => undefined);
    await t?.stop();
  });

  const events = async (job: string) => (await t.coordinator.db.query<{ outcome: string; event: string }>(
    `SELECT outcome, event FROM audit_events WHERE action = 'job.site-approval' AND event LIKE $1 ORDER BY seq`, [`%${job}%`])).rows;

  it('refuses an unapproved job, reports the refusal to the audit trail, and runs it once approved without opted-out patients', async () => {
    const job = await t.coordinator.engine.createJob(spec, 'tester');
    const denied = await until('the refusal event', async () => (await events(job.id)).find((e) => e.outcome === 'denied'));
    const store = new ApprovalStore(stateDir);
    const announced = await store.announcement(job.id);
    expect(announced).toBeDefined();
    expect(JSON.parse(denied.event).details).toEqual({ job: job.id, sha256: announced!.specDigest, reason: 'JOB_NOT_APPROVED' });
    const { rows } = await t.coordinator.db.query<{ last_status: { state: string; detail: string } }>('SELECT last_status FROM sites WHERE id = $1', ['site-a']);
    expect(rows[0]!.last_status.detail).toContain('JOB_NOT_APPROVED');
    const samples = async () => (await t.coordinator.db.query<{ num_samples: number }>('SELECT num_samples FROM contributions WHERE job_id = $1', [job.id])).rows;
    const contributions = async () => (await samples()).length;
    await sleep(1500);
    expect(await contributions()).toBe(0);

    await store.approve({ jobId: job.id, specDigest: announced!.specDigest, ethicsRef: 'IRB-2026-114', approvedAt: new Date().toISOString(), approver: 'steward', mode: 'steward' });
    await until('the update of the approved job', async () => ((await contributions()) > 0 ? true : undefined), 120_000);
    expect((await samples()).map((r) => Number(r.num_samples))).toEqual([38]);
    const approved = (await events(job.id)).find((e) => e.outcome === 'success');
    expect(JSON.parse(approved!.event).details).toEqual({ job: job.id, sha256: announced!.specDigest, ethics_ref: 'IRB-2026-114' });
    // Let the round close (it stores the model) before the coordinator is stopped.
    await until('the job to finish', async () => ((await t.coordinator.engine.job(job.id)).status === 'running' ? undefined : true));
  }, 240_000);
});
