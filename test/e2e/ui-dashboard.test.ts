import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { get } from 'node:http';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { encodeVector, FederationClient, parameterCount, TaskKind, type JobSpec } from '@medfed/proto';
import { CoordinatorClient } from '@medfed/node-agent/transport/client';
import { versionNegotiation } from '@medfed/node-agent/transport/version-negotiation';
import { runCli } from '../support/cli.js';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';

/**
 * The dashboard in headless Chromium against a real coordinator whose rounds are driven by real gRPC
 * clients (one per site): login, a run watched live to completion, charts with data, the failure of an
 * agent killed mid-upload, the audit filter and export button, role-filtered panels, logoff on idle,
 * and an in-page accessibility check. Screenshots go to test-artifacts/ui/.
 */
const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'ui');
const SITES = ['site-a', 'site-b', 'site-c'];
const P = parameterCount(3, [], 2);
const spec: JobSpec = {
  name: 'sepsis-risk', features: ['f1', 'f2', 'f3'], label: 'y', classes: ['no', 'yes'],
  model: { hidden: [], activation: 'relu' },
  training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 7 },
  rounds: 3, minSites: 2, roundDeadlineSeconds: 20, strategy: { name: 'fedavg' }, sites: SITES, standardization: 'none',
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function delta(seed: number): Uint8Array {
  const d = new Float32Array(P);
  for (let i = 0; i < P; i++) d[i] = Math.sin(seed * 31 + i) / 10;
  return encodeVector(d);
}

/** An upload that stops after 8 bytes: what the coordinator sees of an agent killed mid-round. */
async function killedUpload(address: string, header: Record<string, unknown>): Promise<void> {
  const raw = new FederationClient(address, grpc.credentials.createInsecure(), { interceptors: [versionNegotiation()] });
  const payload = delta(99);
  await new Promise<void>((resolve) => {
    const call = raw.submitUpdate(() => resolve());
    call.write({ part: { $case: 'header', value: { ...header, byteSize: payload.byteLength, sha256: createHash('sha256').update(payload).digest('hex'), attestation: '', baseRound: 0 } } });
    call.write({ part: { $case: 'data', value: Buffer.from(payload.subarray(0, 8)) } });
    setTimeout(() => call.cancel(), 50);
  });
  raw.close();
}

/** Plays every site of the job round by round (paced so the page can be seen moving). */
async function driveFederation(client: CoordinatorClient, address: string, jobId: string): Promise<void> {
  const done = new Set<string>();
  for (let step = 0; step < 400; step++) {
    for (const site of SITES) {
      await client.heartbeat({ siteId: site, state: 'idle', jobId, round: 0, detail: '', logPath: `/var/log/medfed/${site}.log` });
      const task = (await client.pollTask(site, 50)).task;
      if (!task || task.jobId !== jobId || done.has(`${site}/${task.round}`)) continue;
      done.add(`${site}/${task.round}`);
      const quality = (task.modelRound + 1) * (site === 'site-a' ? 1 : site === 'site-b' ? 0.8 : 0.6);
      await client.reportMetrics({ siteId: site, jobId, round: task.round, phase: 'eval', modelRound: task.modelRound,
        loss: 1 / (1 + quality), accuracy: Math.min(0.99, 0.5 + quality / 10), numSamples: 20 + SITES.indexOf(site) * 10,
        privacySpend: undefined, paramsSha256: '' });
      if (task.kind !== TaskKind.TASK_KIND_TRAIN) continue;
      const header = { siteId: site, jobId, round: task.round, submissionId: `${site}-${task.round}`, numSamples: 20, baseModelId: task.modelId };
      if (site === 'site-c' && task.round === 2) {
        await client.heartbeat({ siteId: site, state: 'uploading', jobId, round: task.round, detail: '', logPath: '/var/log/medfed/site-c.log' });
        await killedUpload(address, header);
        await client.heartbeat({ siteId: site, state: 'failed', jobId, round: task.round, detail: 'trainer process killed (SIGKILL) during upload', logPath: '/var/log/medfed/site-c.log' });
        continue;
      }
      await client.submitUpdate({ ...header, attestation: '' } as never, delta(task.round * 7 + SITES.indexOf(site)));
    }
    const job = await fetchStatus(address, jobId);
    if (job !== 'running') return;
    await sleep(150);
  }
  throw new Error('the run did not finish');
}

let statusOf: (jobId: string) => Promise<string> = async () => 'running';
const fetchStatus = (_address: string, jobId: string) => statusOf(jobId);

async function createKey(t: TestCoordinator, role: string, site?: string): Promise<string> {
  const res = await fetch(`${t.coordinator.rest}/v1/admin/api-keys`, {
    method: 'POST', headers: { authorization: `Bearer ${t.coordinator.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `ui-${role}`, role, ...(site ? { site } : {}) }),
  });
  expect(res.status).toBe(201);
  return (await res.json() as { apiKey: string }).apiKey;
}

async function login(page: Page, base: string, key: string, query = ''): Promise<void> {
  await page.goto(`${base}/ui/${query}`);
  await page.fill('#api-key', key);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#runs-view:not([hidden])');
}

/** A small in-page accessibility check (axe-core is not installed): labels, alt text, heading order, contrast. */
async function accessibilityProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const visible = (e: Element) => !!(e as HTMLElement).offsetParent || e.tagName === 'BODY';
    for (const input of document.querySelectorAll('input, select, textarea, progress')) {
      if (!visible(input)) continue;
      const labelled = (input.id && document.querySelector(`label[for="${input.id}"]`)) || input.getAttribute('aria-label') || input.getAttribute('aria-labelledby');
      if (!labelled) problems.push(`unlabelled ${input.tagName.toLowerCase()}#${input.id}`);
    }
    for (const img of document.querySelectorAll('img')) if (!img.hasAttribute('alt')) problems.push(`img without alt: ${img.src}`);
    for (const svg of document.querySelectorAll('svg.chart')) if (!svg.getAttribute('aria-label')) problems.push('chart without a name');
    let last = 0;
    for (const h of [...document.querySelectorAll('h1, h2, h3, h4')].filter(visible)) {
      const level = Number(h.tagName[1]);
      if (last && level > last + 1) problems.push(`heading order: h${last} then h${level} (${h.textContent})`);
      last = level;
    }
    const lum = (c: string) => {
      const m = c.match(/\d+(\.\d+)?/g)!.slice(0, 3).map(Number).map((v) => v / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
      return 0.2126 * m[0]! + 0.7152 * m[1]! + 0.0722 * m[2]!;
    };
    const background = (e: Element | null): string => {
      for (let n = e; n; n = n.parentElement) {
        const bg = getComputedStyle(n).backgroundColor;
        if (bg && !bg.startsWith('rgba(0, 0, 0, 0)') && bg !== 'transparent') return bg;
      }
      return 'rgb(255, 255, 255)';
    };
    for (const e of document.querySelectorAll('body *')) {
      if (!visible(e) || !e.childNodes.length || ![...e.childNodes].some((n) => n.nodeType === 3 && n.textContent!.trim())) continue;
      if (e.closest('svg')) continue;
      const fg = lum(getComputedStyle(e).color);
      const bg = lum(background(e));
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      if (ratio < 4.5) problems.push(`contrast ${ratio.toFixed(2)} on ${e.tagName.toLowerCase()} "${e.textContent!.trim().slice(0, 30)}"`);
    }
    return problems;
  });
}

describe('the dashboard at /ui/ in headless Chromium', () => {
  let t: TestCoordinator;
  let browser: BrowserContext;
  let userDir: string;
  let keys: { admin: string; auditor: string; clinician: string };
  let jobId: string;
  let client: CoordinatorClient;
  let driving: Promise<void>;

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    t = await startTestCoordinator('pglite');
    statusOf = async (id) => (await t.coordinator.engine.job(id)).status;
    for (const s of SITES) {
      await t.coordinator.engine.registerSite(s, s);
      await t.coordinator.engine.enroll(s, 'agent-test-1.0', `sha256:${s}-schema-0123456789abcdef`);
    }
    keys = { admin: t.coordinator.adminKey!, auditor: await createKey(t, 'auditor'), clinician: await createKey(t, 'clinician', 'site-a') };
    userDir = await mkdtemp(join(tmpdir(), 'medfed-chromium-'));
    // A fresh profile directory per run; Playwright passes it to Chromium as --user-data-dir.
    browser = await chromium.launchPersistentContext(userDir, {
      executablePath: '/usr/bin/chromium', headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    client = new CoordinatorClient(t.coordinator.grpc);
  });
  afterAll(async () => {
    await driving?.catch(() => {});
    client?.close();
    await browser?.close();
    await t?.stop();
    await rm(userDir, { recursive: true, force: true });
  });

  it('serves the login page without a token, under a strict Content-Security-Policy', async () => {
    const res = await fetch(`${t.coordinator.rest}/ui/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc="\/ui\/)/); // no inline script, no outside source
    expect(html).not.toMatch(/https?:\/\//);
    // A raw request line (fetch would normalise the dots away): the asset route must not leave its folder.
    const { port } = new URL(t.coordinator.rest);
    for (const path of ['/ui/%2e%2e/package.json', '/ui/%2e%2e/%2e%2e/package.json', '/ui/.hidden.js']) {
      const status = await new Promise<number>((resolve, reject) => get({ host: '127.0.0.1', port, path }, (r) => { r.resume(); resolve(r.statusCode ?? 0); }).on('error', reject));
      expect(status).toBe(404);
    }
  });

  it('logs in, watches a run live to completion, draws charts and shows a killed agent', async () => {
    const page = await browser.newPage();
    const outside: string[] = [];
    page.on('request', (r) => { if (!r.url().startsWith(t.coordinator.rest)) outside.push(r.url()); });
    const cspErrors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') cspErrors.push(m.text()); });

    await page.goto(`${t.coordinator.rest}/ui/`);
    await page.fill('#api-key', 'mfk_wrong_wrong');
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#login-error:not(:empty)');
    expect(await page.textContent('#login-error')).toContain('AUTH_');
    await page.screenshot({ path: join(ARTIFACTS, '01-login-refused.png') });

    // The sites beat as idle agents do until they are driven (one silent past the offline threshold would be named offline).
    const idle = () => Promise.all(SITES.map((s) => client.heartbeat({ siteId: s, state: 'idle', jobId: '', round: 0, detail: '', logPath: `/var/log/medfed/${s}.log` })));
    await idle();
    const beating = setInterval(() => void idle().catch(() => {}), 2000);
    jobId = (await t.coordinator.engine.createJob(spec, 'key:researcher-1')).id;
    await login(page, t.coordinator.rest, keys.admin);
    await page.waitForSelector(`#runs-table a[href="#/runs/${jobId}"]`);
    expect(await page.textContent('#runs-table tbody')).toContain('sepsis-risk');
    await page.screenshot({ path: join(ARTIFACTS, '02-runs.png') });

    await page.click(`#runs-table a[href="#/runs/${jobId}"]`);
    await page.waitForSelector('#run-view:not([hidden])');
    await page.waitForFunction(() => document.querySelector('#run-waiting')!.textContent === 'awaiting updates from site-a, site-b, site-c (round 1)');
    expect(await page.textContent('#run-live')).toBe('live');

    clearInterval(beating);
    driving = driveFederation(client, t.coordinator.grpc, jobId);
    // Progress arrives over the event stream, with no reload and no click.
    await page.waitForFunction(() => Number((document.querySelector('#run-progress') as HTMLProgressElement).value) >= 1, undefined, { timeout: 20_000 });
    await page.screenshot({ path: join(ARTIFACTS, '03-run-in-progress.png'), fullPage: true });
    await page.waitForFunction(() => !(document.querySelector('#failure-panel') as HTMLElement).hidden, undefined, { timeout: 20_000 });
    const failure = await page.textContent('#failure-list');
    expect(failure).toContain('site-c');
    expect(failure).toContain('killed (SIGKILL) during upload');
    expect(failure).toContain('/var/log/medfed/site-c.log');
    await page.screenshot({ path: join(ARTIFACTS, '04-failure.png'), fullPage: true });

    await driving;
    await page.waitForFunction(() => document.querySelector('#run-status')!.textContent === 'completed', undefined, { timeout: 20_000 });
    expect(await page.textContent('#run-progress-label')).toBe('Rounds 3/3');
    expect(await page.textContent('#run-live')).toBe('finished');
    expect(await page.textContent('#run-waiting')).toBe('Finished (round 3 of 3).');

    // Charts: loss and accuracy, an aggregate line and one line per site, with every round's point.
    const charts = await page.$$eval('#charts svg.chart', (svgs) => svgs.map((s) => ({
      name: s.getAttribute('aria-label'),
      series: [...s.querySelectorAll('g[data-series]')].map((g) => ({ name: g.getAttribute('data-series'), points: g.querySelectorAll('circle').length })),
    })));
    expect(charts.map((c) => c.name)).toEqual(['Loss per round', 'Accuracy per round']);
    for (const c of charts) {
      expect(c.series.map((s) => s.name)).toEqual(['aggregate', 'site-a', 'site-b', 'site-c']);
      expect(c.series.find((s) => s.name === 'aggregate')!.points).toBe(3);
    }
    const sitesTable = await page.textContent('#sites-table tbody');
    for (const s of SITES) expect(sitesTable).toContain(s);
    expect(sitesTable).toContain('agent-test-1.0');
    // No trainer allowlist: the contributions carry no attestation, and the page says so.
    expect(await page.$$eval('#sites-table tbody tr', (trs) => trs.map((tr) => tr.children[8]!.textContent))).toEqual(['not attested', 'not attested', 'not attested']);
    // After the end every site's task is the run's end with its final round, never its idle heartbeat.
    expect(await page.$$eval('#sites-table tbody tr', (trs) => trs.map((tr) => tr.children[2]!.textContent))).toEqual(Array(3).fill('finished (round 3 of 3)'));
    expect(sitesTable).toContain('sha256:site-a-sc');
    expect(await page.textContent('#models-table tbody')).toMatch(/[0-9a-f]{64}/);
    expect(await page.textContent('#privacy-list')).toContain('Encryption');
    expect(await page.isVisible('#budgets-empty')).toBe(true);

    await page.check('#per-site-toggle');
    const perSite = await page.$$eval('#charts svg.chart', (svgs) => svgs.map((s) => s.getAttribute('aria-label')));
    expect(perSite).toEqual(['Loss: site-a', 'Loss: site-b', 'Loss: site-c', 'Accuracy: site-a', 'Accuracy: site-b', 'Accuracy: site-c']);
    await page.screenshot({ path: join(ARTIFACTS, '05-run-completed-per-site.png'), fullPage: true });
    await page.uncheck('#per-site-toggle');

    expect(await accessibilityProblems(page)).toEqual([]);
    expect(outside).toEqual([]);
    expect(cspErrors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
    await page.close();
  });

  it('filters the audit trail and offers the export to auditors', async () => {
    const page = await browser.newPage();
    await login(page, t.coordinator.rest, keys.auditor);
    await page.click('#nav-audit');
    await page.waitForSelector('#audit-table tbody tr');
    expect(await page.isVisible('#audit-export')).toBe(true);
    await page.selectOption('#audit-outcome', 'denied');
    await page.click('#audit-form button[type=submit]');
    await page.waitForFunction(() => [...document.querySelectorAll('#audit-table tbody tr')].every((tr) => tr.children[6]!.textContent === 'denied'));
    await page.selectOption('#audit-outcome', '');
    await page.fill('#audit-action', 'submission.*');
    await page.fill('#audit-site', 'site-b');
    await page.click('#audit-form button[type=submit]');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('#audit-table tbody tr')];
      return rows.length > 0 && rows.every((tr) => tr.children[5]!.textContent!.startsWith('submission.') && tr.children[4]!.textContent === 'site-b');
    });
    const rows = await page.$$eval('#audit-table tbody tr', (trs) => trs.length);
    expect(rows).toBe(3); // site-b uploaded in each of the 3 training rounds
    await page.screenshot({ path: join(ARTIFACTS, '06-audit-filtered.png'), fullPage: true });
    // The export (GET /v1/audit/export) is fetched with the auditor's token and offered as a download.
    await page.click('#audit-export');
    await page.waitForSelector('#audit-export-status a[download]', { timeout: 20_000 });
    expect(await page.getAttribute('#audit-export-status a', 'href')).toMatch(/^blob:/);
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.close();
  });

  it('hides what a role must not see: a clinician gets no audit, privacy or models panel, and the API refuses too', async () => {
    const page = await browser.newPage();
    await login(page, t.coordinator.rest, keys.clinician);
    expect(await page.isVisible('#nav-audit')).toBe(false);
    await page.evaluate((id) => { location.hash = `#/runs/${id}`; }, jobId);
    await page.waitForSelector('#run-view:not([hidden])');
    await page.waitForFunction(() => document.querySelector('#run-status')!.textContent === 'completed');
    expect(await page.isVisible('#privacy-panel')).toBe(false);
    expect(await page.isVisible('#models-panel')).toBe(false);
    const siteRows = await page.$$eval('#sites-table tbody tr', (trs) => trs.map((tr) => tr.children[0]!.textContent));
    expect(siteRows).toEqual(['site-a']);
    await page.evaluate(() => { location.hash = '#/audit'; });
    await page.waitForSelector('#runs-view:not([hidden])');
    expect(await page.isVisible('#audit-view')).toBe(false);
    const token = await (await fetch(`${t.coordinator.rest}/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: keys.clinician }) })).json() as { access_token: string };
    const refused = await fetch(`${t.coordinator.rest}/v1/audit/events`, { headers: { authorization: `Bearer ${token.access_token}` } });
    expect(refused.status).toBe(403);
    expect((await refused.json() as { code: string }).code).toBe('AUTH_ROLE_FORBIDDEN');
    await page.screenshot({ path: join(ARTIFACTS, '07-clinician-run.png'), fullPage: true });
    await page.close();
  });

  it('medfed runs ls / show / logs -f read the same run (JSON and plain lines when stdout is not a terminal)', async () => {
    const env = { MEDFED_API_KEY: keys.admin };
    const conn = ['--coordinator', t.coordinator.rest];
    const [ls, show, logs] = await Promise.all([
      runCli(['runs', 'ls', '--format', 'json', ...conn], { env }),
      runCli(['runs', 'show', jobId, ...conn], { env }),
      runCli(['runs', 'logs', '-f', jobId, ...conn], { env }),
    ]);
    expect(ls.code).toBe(0);
    expect((JSON.parse(ls.stdout) as { runs: { id: string; status: string }[] }).runs).toEqual([expect.objectContaining({ id: jobId, status: 'completed' })]);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/sepsis-risk .* completed {2}rounds 3\/3/);
    expect(show.stdout).toContain('failed: site-c round 2: trainer process killed (SIGKILL) during upload (log: /var/log/medfed/site-c.log)');
    expect(logs.code).toBe(0);
    const lines = logs.stdout.split('\n');
    expect(lines.filter((l) => /^round \d+ \(train\) closed/.test(l))).toHaveLength(3);
    expect(logs.stdout).toMatch(/outcome: completed\nrounds: 3\/3\nmodel: [0-9a-f]{64}\nepsilon spent: not recorded\nexports: none/);
    expect(logs.stdout).not.toMatch(/[█░]/); // no bars in a pipe
    const denied = await runCli(['runs', 'ls', ...conn], { env: { MEDFED_API_KEY: 'mfk_nope_nope' } });
    expect(denied.code).toBe(6);
    expect(denied.stderr).toMatch(/medfed: error AUTH_/);
  });

  it('logs off by itself after the idle period', async () => {
    const page = await browser.newPage();
    await login(page, t.coordinator.rest, keys.auditor, '?idle=2');
    await page.waitForSelector('#login-view:not([hidden])', { timeout: 8_000 });
    expect(await page.textContent('#login-notice')).toContain('inactivity');
    await page.screenshot({ path: join(ARTIFACTS, '08-idle-logoff.png') });
    await page.close();
  });
});
