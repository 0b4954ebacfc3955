import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { encodeVector, parameterCount, TaskKind, type JobSpec, type Task } from '@medfed/proto';
import { createSoftwareAttester, generateAttestationKey, publicAttestationJwk, type Attester } from '@medfed/proto/attestation/index';
import { writeDevCa } from '@medfed/coordinator/keys/index';
import { CoordinatorClient } from '@medfed/node-agent/transport/client';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';
import { generateApprovalKey, signedReleaseApproval, type ReleaseShown } from '../support/steward-approval.js';

/**
 * The dashboard in headless Chromium for what the CLI also says: a finished run whose model was
 * released (the release workflow over REST, as test/e2e/model-release.test.ts drives it) and whose
 * every contribution carried a passing attestation shows "released", "attested" and its final round;
 * a run held up by a steward shows what it waits for; a coordinator whose certificates are close to
 * expiry shows a banner; the login page says how a person gets a key. The screenshots are the ones
 * docs/dashboard.md shows (docs/screenshots/).
 */
const SCREENSHOTS = join(process.cwd(), 'docs', 'screenshots');
const SITES = ['site-a', 'site-b', 'site-c'];
const P = parameterCount(3, [4], 2);
/** The admitted trainer build every site attests. */
const TRAINER = { digest: 'ab'.repeat(32), policy: 'cd'.repeat(32) };
const spec: JobSpec = {
  name: 'readmission-risk', features: ['age', 'lactate', 'heart_rate'], label: 'readmitted', classes: ['no', 'yes'],
  model: { hidden: [4], activation: 'relu' }, training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 5 },
  rounds: 2, minSites: 3, roundDeadlineSeconds: 120, strategy: { name: 'fedavg' }, sites: SITES, standardization: 'none',
  trainerAllowlist: [TRAINER.digest],
};
const CHROMIUM = { executablePath: '/usr/bin/chromium', headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'] };

async function launch(userDir: string, options: { ignoreHTTPSErrors?: boolean } = {}): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDir, { ...CHROMIUM, viewport: { width: 1280, height: 900 }, ...options });
}

async function login(page: Page, base: string, key: string): Promise<void> {
  await page.goto(`${base}/ui/`);
  await page.fill('#api-key', key);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#runs-view:not([hidden])');
}

describe('the dashboard shows a released, attested run and a waiting one as the CLI does (Chromium, real coordinator, PostgreSQL)', () => {
  let t: TestCoordinator;
  let browser: BrowserContext;
  let userDir: string;
  const clients = new Map<string, CoordinatorClient>();
  const attesters = new Map<string, Attester>();
  const tokens: Record<string, string> = {};

  async function api(who: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, any> }> {
    const res = await fetch(`${t.coordinator.rest}${path}`, {
      method, headers: { authorization: `Bearer ${tokens[who]}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: await res.json() as Record<string, any> };
  }

  async function personToken(name: string, role: string, site?: string): Promise<string> {
    const created = await api('admin', 'POST', '/v1/admin/api-keys', { name, role, ...(site ? { site } : {}), expiresInDays: 1 });
    expect(created.status).toBe(201);
    const res = await fetch(`${t.coordinator.rest}/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: created.body.apiKey }) });
    return (await res.json() as { access_token: string }).access_token;
  }

  const beat = (site: string, state: string, jobId: string, round: number, detail = '') =>
    clients.get(site)!.heartbeat({ siteId: site, state, jobId, round, detail, logPath: `/var/log/medfed/${site}.log` });

  /** One site's task, as an agent runs it: heartbeats, the evaluation of the model it got, an attested update. */
  async function play(site: string, jobId: string, task: Task): Promise<void> {
    const client = clients.get(site)!;
    await beat(site, 'training', jobId, task.round);
    const quality = (task.modelRound + 1) * (1 + SITES.indexOf(site) / 10);
    await client.reportMetrics({ siteId: site, jobId, round: task.round, phase: 'eval', modelRound: task.modelRound,
      loss: 1 / (1 + quality), accuracy: Math.min(0.99, 0.55 + quality / 10), numSamples: 40 + SITES.indexOf(site) * 10, privacySpend: undefined,
      paramsSha256: '' });
    if (task.kind === TaskKind.TASK_KIND_TRAIN) {
      const payload = encodeVector(Float32Array.from({ length: P }, (_, i) => Math.sin(i + task.round + SITES.indexOf(site)) / 50));
      const attestation = await attesters.get(site)!.attest({
        site, job: jobId, round: task.round, nonce: task.attestationNonce, trainerDigest: TRAINER.digest, sandboxPolicyDigest: TRAINER.policy,
        manifestDigest: (await t.coordinator.publisher.manifestDigestOf(task.modelId)) ?? task.modelSha256,
        updateSha256: createHash('sha256').update(payload).digest('hex'), sandboxed: true,
      });
      await client.submitUpdate({ siteId: site, jobId, round: task.round, submissionId: `${site}-${task.round}`, numSamples: 40, baseModelId: task.modelId, attestation }, payload);
    }
    await beat(site, 'idle', jobId, task.round);
  }

  beforeAll(async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    t = await startTestCoordinator('postgres');
    tokens.admin = t.coordinator.adminToken;
    for (const id of SITES) {
      await t.coordinator.engine.registerSite(id, id);
      const key = generateAttestationKey();
      attesters.set(id, createSoftwareAttester(key));
      clients.set(id, new CoordinatorClient(t.coordinator.grpc));
      await clients.get(id)!.enroll(id, 'agent-test-1.0', `sha256:${id}-schema-0123456789abcdef`, undefined, publicAttestationJwk(key));
    }
    tokens.researcher = await personToken('researcher', 'researcher');
    tokens.auditor = await personToken('compliance', 'auditor');
    for (const id of SITES) tokens[`steward-${id}`] = await personToken(`steward-${id}`, 'site-steward', id);
    userDir = await mkdtemp(join(tmpdir(), 'medfed-chromium-'));
    browser = await launch(userDir);
  }, 120_000);
  afterAll(async () => {
    for (const c of clients.values()) c.close();
    await browser?.close();
    await t?.stop();
    if (userDir) await rm(userDir, { recursive: true, force: true });
  });

  it('says on the login page how a person gets a key', async () => {
    const page = await browser.newPage();
    await page.goto(`${t.coordinator.rest}/ui/`);
    const text = await page.textContent('#get-key');
    expect(text).toContain('medfed admin create-key --role <role> --name <your name>');
    expect(text).toContain('--site <site>');
    expect(text).toContain('OpenID Connect');
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-login.png') });
    await page.close();
  });

  it('shows a finished run whose model was released and whose contributions were attested: "released", "attested", the final round', async () => {
    const jobId = (await t.coordinator.engine.createJob(spec, 'key:researcher')).id;
    const done = new Set<string>();
    for (const until = Date.now() + 90_000; (await t.coordinator.engine.job(jobId)).status === 'running';) {
      if (Date.now() > until) throw new Error('the run did not finish');
      for (const site of SITES) {
        const task = (await clients.get(site)!.pollTask(site, 100)).task;
        if (!task || task.jobId !== jobId || done.has(`${site}/${task.round}`)) continue;
        done.add(`${site}/${task.round}`);
        await play(site, jobId, task);
      }
    }
    expect((await t.coordinator.engine.job(jobId)).status).toBe('completed');

    // The release workflow: requested by a researcher, approved by two site stewards (each signing with
    // its site's steward key) and compliance.
    const requested = await api('researcher', 'POST', `/v1/jobs/${jobId}/releases`, { round: 2, reason: 'publish the final model' });
    expect(requested.status).toBe(201);
    for (const site of ['site-a', 'site-b']) {
      const approval = signedReleaseApproval(requested.body as unknown as ReleaseShown, site, generateApprovalKey());
      expect((await api(`steward-${site}`, 'POST', `/v1/releases/${requested.body.id}/approvals`, { approval })).status).toBe(200);
    }
    expect((await api('auditor', 'POST', `/v1/releases/${requested.body.id}/approvals`, {})).status).toBe(200);
    const release = (await api('researcher', 'GET', `/v1/releases/${requested.body.id}`)).body;
    expect(release.state).toBe('released');

    const page = await browser.newPage();
    await login(page, t.coordinator.rest, t.coordinator.adminKey!);
    await page.evaluate((id) => { location.hash = `#/runs/${id}`; }, jobId);
    await page.waitForSelector('#run-view:not([hidden])');
    await page.waitForFunction(() => document.querySelector('#run-status')!.textContent === 'completed');
    // The release state comes from the release routes, read after the run's overview.
    await page.waitForFunction(() => [...document.querySelectorAll('#models-table td')].some((td) => td.textContent === 'released'));

    expect(await page.textContent('#run-waiting')).toBe('Finished (round 2 of 2).');
    const models = await page.$$eval('#models-table tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    const final = models.filter((m) => m[0] === '2');
    // The round's model and the released plaintext model: both say released, with the approvals the release recorded.
    expect(final.map((m) => m[4])).toEqual(expect.arrayContaining(['released', 'released (the plaintext model)']));
    expect(final[0]![5]).toContain('compliance by');
    expect(final[0]![5]).toContain('site:site-a by');
    expect(models.filter((m) => m[0] === '1').map((m) => m[4])).toEqual(['not released']);
    const sites = await page.$$eval('#sites-table tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    expect(sites.map((s) => s[2])).toEqual(Array(3).fill('finished (round 2 of 2)'));
    expect(sites.map((s) => s[8])).toEqual(['attested', 'attested', 'attested']);
    expect(sites.map((s) => s[7])).toEqual(Array(3).fill(expect.stringMatching(/ \/ agent-test-1\.0$/)));
    expect(await page.textContent('#run-attestation')).toBe('Attestation: attested (6 of 6 contributions)');
    const body = await page.textContent('#run-view');
    expect(body).not.toContain('not available');
    expect(body).not.toContain('idle (round 0)');
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-run-released.png'), fullPage: true });
    await page.close();
  }, 180_000);

  it('shows what a run waits for: a steward who has not approved it, the sites still training', async () => {
    const jobId = (await t.coordinator.engine.createJob({ ...spec, name: 'sepsis-onset' }, 'key:researcher')).id;
    // site-b's agent refuses the unapproved job as it does: the refusal reported, then its heartbeat.
    await clients.get('site-b')!.reportJobApproval({ siteId: 'site-b', jobId, approved: false, specDigest: 'ef'.repeat(32), ethicsRef: '', refusalCode: 'JOB_NOT_APPROVED', mode: '' });
    // The agents keep beating while the page loads (a site silent past the offline threshold would be named offline).
    const statuses: [string, string, string][] = [['site-a', 'training', ''], ['site-b', 'awaiting-approval', `JOB_NOT_APPROVED: job ${jobId} is not approved at this site`], ['site-c', 'training', '']];
    const all = () => Promise.all(statuses.map(([s, state, detail]) => beat(s, state, jobId, 1, detail)));
    await all();
    const beating = setInterval(() => void all().catch(() => {}), 2000);

    try {
      const page = await browser.newPage();
      await login(page, t.coordinator.rest, t.coordinator.adminKey!);
      await page.evaluate((id) => { location.hash = `#/runs/${id}`; }, jobId);
      await page.waitForSelector('#run-view:not([hidden])');
      await page.waitForFunction(() => document.querySelector('#run-waiting')!.textContent !== '');
      expect(await page.textContent('#run-waiting')).toBe('awaiting approval at site-b; awaiting updates from site-a, site-c (round 1)');
      await page.waitForFunction(() => document.querySelector('#run-live')!.textContent === 'live');
      await page.waitForFunction(() => document.querySelector('#sites-table tbody')!.textContent!.includes('agent-test-1.0'));
      await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-run-waiting.png'), fullPage: true });
      await page.close();
    } finally {
      clearInterval(beating);
    }
    await t.coordinator.engine.stopJob(jobId, 'shown');
  }, 60_000);

  it('shows a banner for the certificates the coordinator flags as close to expiry', async () => {
    const previous = process.env.MEDFED_EXPIRY_WARNING_DAYS;
    const certs = await mkdtemp(join(tmpdir(), 'medfed-tls-'));
    const tlsDir = await mkdtemp(join(tmpdir(), 'medfed-chromium-tls-'));
    // The development CA lasts years: a threshold of ten years flags both certificates.
    process.env.MEDFED_EXPIRY_WARNING_DAYS = '3650';
    let tls: TestCoordinator | undefined;
    let context: BrowserContext | undefined;
    try {
      const files = await writeDevCa(certs, ['localhost', '127.0.0.1']);
      tls = await startTestCoordinator('pglite', { 'tls.cert': files.serverCert, 'tls.key': files.serverKey });
      context = await launch(tlsDir, { ignoreHTTPSErrors: true });
      const page = await context.newPage();
      await login(page, tls.coordinator.rest, tls.coordinator.adminKey!);
      await page.waitForSelector('#expiry-banner:not([hidden])');
      const items = await page.$$eval('#expiry-list li', (lis) => lis.map((li) => li.textContent));
      expect(items).toEqual([expect.stringMatching(/^tls-server: expires .+ \(\d+ days left\)$/), expect.stringMatching(/^ca: expires .+ \(\d+ days left\)$/)]);
      await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-expiry-banner.png') });
    } finally {
      if (previous === undefined) delete process.env.MEDFED_EXPIRY_WARNING_DAYS;
      else process.env.MEDFED_EXPIRY_WARNING_DAYS = previous;
      await context?.close();
      await tls?.stop();
      await rm(certs, { recursive: true, force: true });
      await rm(tlsDir, { recursive: true, force: true });
    }
  }, 120_000);
});
