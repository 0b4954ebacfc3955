import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobSpec } from '@medfed/proto';
import { CoordinatorClient } from '@medfed/node-agent/transport/client';
import { ensureSiteKeys } from '@medfed/node-agent/custody/site-keys';
import { runCli } from '../support/cli.js';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';

/**
 * What a run waits for, end to end on PostgreSQL: the sites speak gRPC as agents do (heartbeats with
 * `CODE: message` details, ReportJobApproval), the coordinator derives the wait, and REST
 * (`GET /v1/jobs/:id`, `/overview`, `/v1/stats/queries/:id`) and the CLI as a process
 * (`medfed runs show`, `medfed stats show`) print it.
 */
const SITES = ['site-a', 'site-b', 'site-c'];
const SPEC_DIGEST = 'ab'.repeat(32);
const spec: JobSpec = {
  name: 'waiting', features: ['f1', 'f2'], label: 'y', classes: ['n', 'y'], model: { hidden: [], activation: 'relu' },
  training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 1 }, rounds: 2, minSites: 2,
  roundDeadlineSeconds: 600, strategy: { name: 'fedavg' }, sites: SITES, standardization: 'none',
};

interface Waiting { waiting: { site: string; reason: string; since: string | null; detail: string | null }[]; waitingSummary: string }

describe('waiting is visible: REST and CLI say what a run waits for (real coordinator, gRPC, PostgreSQL)', () => {
  let t: TestCoordinator;
  let work: string;
  let conn: string[];
  const clients = new Map<string, CoordinatorClient>();
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${t.coordinator.rest}${path}`, { headers: { authorization: `Bearer ${t.coordinator.adminToken}` } });
    expect(res.status).toBe(200);
    return await res.json() as T;
  };
  /** Each running agent's latest status, sent again every 2 s as agents do (a site that stopped beating is removed). */
  const agents = new Map<string, { state: string; jobId: string; round: number; detail: string }>();
  let beating: NodeJS.Timeout | undefined;
  const send = (site: string) => clients.get(site)!.heartbeat({ siteId: site, ...agents.get(site)!, logPath: '' });
  const beat = async (site: string, state = 'idle', jobId = '', round = 0, detail = '') => {
    agents.set(site, { state, jobId, round, detail });
    await send(site);
    // Like agent.ts: a failure is reported in one heartbeat, then the agent is idle again.
    if (state === 'failed') agents.set(site, { state: 'idle', jobId: '', round: 0, detail: '' });
  };

  beforeAll(async () => {
    t = await startTestCoordinator('postgres');
    work = await mkdtemp(join(tmpdir(), 'medfed-waiting-'));
    conn = ['--coordinator', t.coordinator.rest, '--key-file', t.coordinator.adminKeyFile];
    for (const id of SITES) {
      await t.coordinator.engine.registerSite(id, id);
      clients.set(id, new CoordinatorClient(t.coordinator.grpc));
      await clients.get(id)!.enroll(id, 'test', 'test', (await ensureSiteKeys(join(work, id))).keyAgreement.publicJwk);
      agents.set(id, { state: 'idle', jobId: '', round: 0, detail: '' });
    }
    beating = setInterval(() => { for (const site of agents.keys()) void send(site).catch(() => {}); }, 2000);
  }, 120_000);
  afterAll(async () => {
    clearInterval(beating);
    for (const c of clients.values()) c.close();
    await t?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('a training run: a steward\'s refusal, an agent that stopped beating, the sites still training', async () => {
    const job = await t.coordinator.engine.createJob(spec, 'researcher');
    // site-b's agent refuses the task as it does for an unapproved job: reported approval refusal, then the heartbeat.
    await clients.get('site-b')!.reportJobApproval({ siteId: 'site-b', jobId: job.id, approved: false, specDigest: SPEC_DIGEST, ethicsRef: '', refusalCode: 'JOB_NOT_APPROVED', mode: '' });
    await beat('site-b', 'awaiting-approval', job.id, 1, `JOB_NOT_APPROVED: job ${job.id} is not approved at this site (medfed agent approve --job ${job.id})`);
    for (const s of ['site-a', 'site-c']) await beat(s, 'training', job.id, 1);

    const view = await get<Waiting>(`/v1/jobs/${job.id}`);
    expect(view.waiting).toEqual([
      { site: 'site-a', reason: 'training', since: expect.any(String), detail: null },
      { site: 'site-b', reason: 'approval', since: expect.any(String), detail: 'JOB_NOT_APPROVED' },
      { site: 'site-c', reason: 'training', since: expect.any(String), detail: null },
    ]);
    expect(view.waitingSummary).toBe('awaiting approval at site-b; awaiting updates from site-a, site-c (round 1)');
    // The agent goes back to idle between polls: the reported refusal still says what the run waits for.
    await beat('site-b');
    expect((await get<{ job: Waiting }>(`/v1/jobs/${job.id}/overview`)).job.waitingSummary).toBe('awaiting approval at site-b; awaiting updates from site-a, site-c (round 1)');

    // site-c's agent stops beating: its last heartbeat is older than the offline threshold.
    agents.delete('site-c');
    await t.coordinator.db.query(`UPDATE sites SET last_seen_at = now() - interval '2 minutes' WHERE id = 'site-c'`);
    const { rows } = await t.coordinator.db.query<{ last_seen_at: Date }>(`SELECT last_seen_at FROM sites WHERE id = 'site-c'`);
    const since = rows[0]!.last_seen_at.toISOString();
    const [show, json] = await Promise.all([runCli(['runs', 'show', job.id, ...conn]), runCli(['runs', 'show', job.id, '--format', 'json', ...conn])]);
    expect([show.code, show.stderr]).toEqual([0, '']);
    expect(show.stdout.split('\n')[1]).toBe(`waiting: awaiting approval at site-b; site-c offline since ${since}; awaiting updates from site-a (round 1)`);
    expect(show.stdout).not.toMatch(/\bidle\b/);
    const overview = JSON.parse(json.stdout) as { job: Waiting };
    expect(overview.job.waiting.map((w) => [w.site, w.reason])).toEqual([['site-a', 'training'], ['site-b', 'approval'], ['site-c', 'offline']]);

    // The steward approves: the agent reports it, and only the training sites remain.
    await clients.get('site-b')!.reportJobApproval({ siteId: 'site-b', jobId: job.id, approved: true, specDigest: SPEC_DIGEST, ethicsRef: 'IRB-2026-014', refusalCode: '', mode: 'steward' });
    await beat('site-c', 'training', job.id, 1);
    expect((await get<Waiting>(`/v1/jobs/${job.id}`)).waitingSummary).toBe('awaiting updates from site-a, site-b, site-c (round 1)');
    await t.coordinator.engine.stopJob(job.id, 'next scenario');
    expect(await get<Waiting>(`/v1/jobs/${job.id}`)).toMatchObject({ waiting: [], waitingSummary: '' });
  }, 120_000);

  it('an encrypted run: a steward who has not signed the site list, the key ceremony waiting for the others', async () => {
    const job = await t.coordinator.engine.createJob({ ...spec, name: 'encrypted', minSites: 3, encryption: { enabled: true, paramSet: 'bfv-n4096-q60-t48-2x23', clipNorm: 1, fracBits: 0 } }, 'researcher');
    // site-a's agent is handed the signing step and refuses it as key-task.ts does without the steward's approval.
    const task = (await clients.get('site-a')!.pollTask('site-a', 200)).task;
    expect(task?.keyTaskJson).toBeTruthy();
    await beat('site-a', 'failed', job.id, task!.round, `HE_SITE_LIST_UNSIGNED: job ${job.id} waits for this site's steward to approve its site list (medfed keys approve)`);
    for (const s of ['site-b', 'site-c']) await beat(s);
    const view = await get<Waiting>(`/v1/jobs/${job.id}`);
    expect(view.waiting.map((w) => [w.site, w.reason, w.detail])).toEqual([
      ['site-a', 'site-list-approval', 'HE_SITE_LIST_UNSIGNED'], ['site-b', 'key-ceremony', 'sign'], ['site-c', 'key-ceremony', 'sign'],
    ]);
    expect(view.waitingSummary).toBe('awaiting site-list approval at site-a; awaiting key ceremony (epoch 1: signatures from site-b, site-c)');
    await t.coordinator.engine.stopJob(job.id, 'next scenario');
  }, 120_000);

  it('a statistics query: a refusal (code only), a steward\'s refusal, a site still answering; medfed stats show prints it', async () => {
    const res = await fetch(`${t.coordinator.rest}/v1/stats/queries`, {
      method: 'POST', headers: { authorization: `Bearer ${t.coordinator.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ages', sites: SITES, statistics: ['count'], encryption: { enabled: false } }),
    });
    expect(res.status).toBe(201);
    const { id } = await res.json() as { id: string };
    await beat('site-a', 'failed', id, 0, 'PRIVACY_BUDGET_EXCEEDED: dataset icu-cohort has 0.0 of 3.0 epsilon left');
    await clients.get('site-b')!.reportJobApproval({ siteId: 'site-b', jobId: id, approved: false, specDigest: SPEC_DIGEST, ethicsRef: '', refusalCode: 'JOB_NOT_APPROVED', mode: '' });
    await beat('site-c', 'training', id, 0);
    await beat('site-b');

    const view = await get<Waiting & { status: string }>(`/v1/stats/queries/${id}`);
    expect(view.status).toBe('collecting');
    expect(view.waiting.map((w) => [w.site, w.reason, w.detail])).toEqual([
      ['site-a', 'data-refused', 'PRIVACY_BUDGET_EXCEEDED'], ['site-b', 'approval', 'JOB_NOT_APPROVED'], ['site-c', 'statistics', null],
    ]);
    expect(view.waitingSummary).toBe('awaiting approval at site-b; site-a refused (PRIVACY_BUDGET_EXCEEDED); awaiting answers from site-c');
    expect(JSON.stringify(view.waiting)).not.toContain('icu-cohort');
    const [show, json] = await Promise.all([runCli(['stats', 'show', id, ...conn]), runCli(['stats', 'show', id, '--format', 'json', ...conn])]);
    expect([show.code, show.stderr]).toEqual([0, '']);
    expect(show.stdout.split('\n').slice(0, 2)).toEqual([`${id} ages: collecting`, 'waiting: awaiting approval at site-b; site-a refused (PRIVACY_BUDGET_EXCEEDED); awaiting answers from site-c']);
    expect((JSON.parse(json.stdout) as Waiting).waiting).toHaveLength(3);
    await t.coordinator.engine.stopJob(id, 'done');
  }, 120_000);
});
