import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { TaskKind, type PinnedSite, type Task } from '@medfed/proto';
import { noiseBound, noisePlan, statsLayout, parseStatsQuery, verifyStatsResult, type StatsResult } from '@medfed/proto/stats/index';
import type { JWK } from 'jose';
import { loadOrCreateAttestationKey, publicAttestationJwk } from '@medfed/proto/attestation/index';
import { CoordinatorClient } from '@medfed/node-agent/transport/client';
import { ensureSiteKeys, pinsOf, type SiteKeys } from '@medfed/node-agent/custody/site-keys';
import { JobKeyStore } from '@medfed/node-agent/custody/job-key-store';
import { runKeyTask, type KeyTask } from '@medfed/node-agent/tasks/key-task';
import { parseTaskSpec } from '@medfed/node-agent/tasks/task-context';
import { runStatsPublishTask, runStatsQueryTask, type StatsQueryContext } from '@medfed/node-agent/tasks/stats-query-task';
import { PrivacyLedger } from '@medfed/node-agent/privacy/index';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';
import { runCli } from '../support/cli.js';

const SITES = ['site-a', 'site-b', 'site-c'];
const WARDS = ['A', 'B', 'C', 'D'];
const log = pino({ level: 'silent' });

/** A deterministic pseudo-random cohort per site; ward C is rare everywhere (a small pooled cell). */
function cohort(site: number, n: number): { mrn: string; patient_name: string; ward: string; age: string; sbp: string }[] {
  let s = 1234 + site * 7919;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: n }, (_, i) => ({
    mrn: `MRN${site}${String(i).padStart(5, '0')}`, patient_name: `Patient ${site}-${i}`,
    ward: i % 37 === 3 ? 'C' : i % 9 === 0 ? 'X' : ['A', 'B', 'D'][Math.floor(rnd() * 3)]!,
    age: (18 + rnd() * 80).toFixed(1), sbp: i % 23 === 5 ? '' : String(Math.round(95 + rnd() * 70)),
  }));
}

interface Pooled { count: bigint; n: bigint; sum: bigint; sumsq: bigint; hist: number[] }

describe('federated statistics (real coordinator on PostgreSQL, gRPC, three site agents)', () => {
  let t: TestCoordinator;
  let root: string;
  const clients = new Map<string, CoordinatorClient>();
  const keys = new Map<string, SiteKeys>();
  const csv = new Map<string, string>();
  const rows = new Map<string, ReturnType<typeof cohort>>();
  let pinned: Map<string, PinnedSite>;

  beforeAll(async () => {
    t = await startTestCoordinator('postgres');
    root = await mkdtemp(join(tmpdir(), 'medfed-stats-'));
    for (const [i, id] of SITES.entries()) {
      await t.coordinator.engine.registerSite(id, id);
      const dir = join(root, id);
      keys.set(id, await ensureSiteKeys(dir));
      const { key } = await loadOrCreateAttestationKey(join(dir, 'attestation.jwk'));
      const client = new CoordinatorClient(t.coordinator.grpc);
      clients.set(id, client);
      await client.enroll(id, 'test', 'test', keys.get(id)!.keyAgreement.publicJwk, publicAttestationJwk(key));
      const data = cohort(i, 60 + 25 * i);
      rows.set(id, data);
      const path = join(dir, 'data.csv');
      await writeFile(path, ['mrn,patient_name,ward,age,sbp', ...data.map((r) => `${r.mrn},${r.patient_name},${r.ward},${r.age},${r.sbp}`)].join('\n'));
      csv.set(id, path);
      // The steward's masking schema: ward is a clinical category and ages here are under 90, released exactly.
      await writeFile(join(dir, 'masking-schema.json'), JSON.stringify({ patientIdField: 'mrn', fields: [
        { name: 'mrn', type: 'string', class: 'direct-identifier', identifier: 'medical-record-number', defaultTransform: 'pseudonymize' },
        { name: 'patient_name', type: 'string', class: 'direct-identifier', identifier: 'name', defaultTransform: 'redact' },
        { name: 'ward', type: 'category', class: 'clinical' },
        { name: 'age', type: 'number', class: 'clinical' },
        { name: 'sbp', type: 'integer', class: 'clinical' },
      ] }));
    }
    pinned = new Map(SITES.map((id) => {
      const p = pinsOf(id, keys.get(id)!);
      return [id, { stewardKeyThumbprint: p.stewardKeyThumbprint, keyAgreementKeyThumbprint: p.keyAgreementKeyThumbprint }];
    }));
  }, 60_000);

  afterAll(async () => {
    for (const c of clients.values()) c.close();
    await t?.stop();
    await rm(root, { recursive: true, force: true });
  });

  /** The context agent.ts gives a statistics task at one site. */
  function contextOf(id: string, task: Task): StatsQueryContext {
    const client = clients.get(id)!;
    const { spec, standardization } = parseTaskSpec(task);
    const stateDir = join(root, id);
    return {
      client, siteId: id, log, task, spec, standardization, stateDir, keyStore: new JobKeyStore(stateDir, id, keys.get(id)!),
      fetchWrappedKey: async (j: string) => { const k = await client.fetchJobKey(id, j); return { epoch: k.epoch, paramSet: k.paramSet, keyId: k.keyId, jwe: k.wrappedKey }; },
      privacy: { dataset: 'default', budgetEpsilon: 10, budgetDelta: 1e-5 }, statsInputs: { csvPath: csv.get(id)!, maskingSchemaPath: join(stateDir, 'masking-schema.json') },
    } as unknown as StatsQueryContext;
  }

  /**
   * What each agent does with its tasks (agent.ts dispatch), until the query is published or fails.
   * Sites in `silent` take their publish task and never act on it (the last one each got is kept in `ignored`).
   */
  async function drive(jobId: string, silent: ReadonlySet<string> = new Set(), ignored = new Map<string, Task>()): Promise<void> {
    for (let guard = 0; guard < 1200; guard++) {
      const job = await t.coordinator.engine.job(jobId);
      if (job.status !== 'running') return;
      for (const id of SITES) {
        const client = clients.get(id)!;
        const task: Task | undefined = (await client.pollTask(id, 50)).task;
        if (!task || task.jobId !== jobId) continue;
        if (task.kind === TaskKind.TASK_KIND_KEYS) {
          await runKeyTask(jobId, JSON.parse(task.keyTaskJson) as KeyTask, {
            siteId: id, keys: keys.get(id)!, pinned, autoApprove: true, log,
            submitSignature: async (jws) => { await client.submitSiteListSignature(id, jobId, jws); },
            submitKeyMaterial: async (pp, w) => { await client.submitKeyMaterial(id, jobId, pp, w); },
          });
          continue;
        }
        if (task.kind === TaskKind.TASK_KIND_STATS_PUBLISH && silent.has(id)) {
          ignored.set(id, task);
          continue;
        }
        const ctx = contextOf(id, task);
        try {
          if (task.kind === TaskKind.TASK_KIND_STATS_QUERY) await runStatsQueryTask(ctx);
          else if (task.kind === TaskKind.TASK_KIND_STATS_PUBLISH) await runStatsPublishTask(ctx);
        } catch (err) {
          // As the agent does: the refusal and its reason go to the coordinator in a heartbeat.
          await client.heartbeat({ siteId: id, state: 'failed', jobId, round: task.round, detail: `${(err as { code?: string }).code}: ${(err as Error).message}`, logPath: '' });
        }
      }
    }
    throw new Error(`job ${jobId} did not finish`);
  }

  async function view(id: string, token = t.coordinator.adminToken): Promise<Record<string, unknown>> {
    const res = await fetch(`${t.coordinator.rest}/v1/stats/queries/${id}`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  }

  async function submit(query: unknown): Promise<string> {
    const res = await fetch(`${t.coordinator.rest}/v1/stats/queries`, {
      method: 'POST', headers: { authorization: `Bearer ${t.coordinator.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(query),
    });
    const body = (await res.json()) as { id: string; message?: string };
    expect(res.status).toBe(201);
    return body.id;
  }

  /** The pooled computation over the three CSVs, in the same fixed point (decimals 1 for age). */
  function pooled(field: 'age' | 'sbp', lower: number, upper: number, bins: number, scale: number): Map<string, Pooled> {
    const out = new Map<string, Pooled>(WARDS.map((w) => [w, { count: 0n, n: 0n, sum: 0n, sumsq: 0n, hist: new Array<number>(bins).fill(0) }]));
    for (const data of rows.values()) {
      for (const r of data) {
        const p = out.get(r.ward);
        if (!p) continue;
        p.count++;
        if (r[field] === '') continue;
        const x = Number(r[field]);
        const c = Math.min(upper, Math.max(lower, x));
        const v = BigInt(Math.round(c * scale));
        p.n++; p.sum += v; p.sumsq += v * v;
        p.hist[Math.min(bins - 1, Math.floor(((c - lower) / (upper - lower)) * bins))]!++;
      }
    }
    return out;
  }

  const base = {
    name: 'age and blood pressure by ward', sites: SITES, groupBy: [{ field: 'ward', categories: WARDS }],
    fields: [{ name: 'age', lower: 0, upper: 120, bins: 12 }, { name: 'sbp', lower: 60, upper: 220, bins: 16 }],
    statistics: ['count', 'sum', 'mean', 'variance', 'histogram', 'quantiles'], decimals: 1, deadlineSeconds: 60,
  };

  it('encrypted, no noise: equals the pooled computation exactly; the small cell is suppressed, with a complementary one', async () => {
    const id = await submit(base);
    await drive(id);
    const v = await view(id);
    expect(v.status).toBe('published');
    expect(v.encrypted).toBe(true);
    const r = v.result as StatsResult;
    expect(r.publishedBy).toBe('site-a');
    // The stored statement verifies against site-a's node key and says exactly what is served.
    const { key: siteAKey } = await loadOrCreateAttestationKey(join(root, 'site-a', 'attestation.jwk'));
    expect(await verifyStatsResult(v.resultJws as string, publicAttestationJwk(siteAKey) as unknown as JWK)).toEqual(r);
    const { rows: events } = await t.coordinator.db.query<{ action: string; outcome: string; actor: string }>(
      `SELECT action, outcome, actor FROM audit_events WHERE job = $1 AND action LIKE 'stats.%' ORDER BY seq`, [id]);
    expect(events.map((e) => `${e.action}:${e.outcome}`)).toEqual(['stats.query.submit:success', 'stats.answer:success', 'stats.answer:success', 'stats.answer:success', 'stats.publish:success']);
    expect([...r.contributors].sort()).toEqual(SITES);
    const age = pooled('age', 0, 120, 12, 10);
    const sbp = pooled('sbp', 60, 220, 16, 10);
    const small = r.cells.find((c) => c.group.ward === 'C')!;
    expect(age.get('C')!.count).toBeLessThan(11n);
    expect(age.get('C')!.count).toBeGreaterThan(0n);
    expect(small).toMatchObject({ suppressed: true, reason: 'small-cell', count: null, fields: null });
    expect(r.cells.filter((c) => c.reason === 'complementary')).toHaveLength(1);
    expect(r.total.count).toBe(Number([...age.values()].reduce((a, p) => a + p.count, 0n)));
    let compared = 0;
    for (const c of r.cells.filter((x) => !x.suppressed)) {
      const w = c.group.ward!;
      expect(c.count).toBe(Number(age.get(w)!.count));
      for (const [name, p] of [['age', age.get(w)!], ['sbp', sbp.get(w)!]] as const) {
        const f = c.fields![name]!;
        expect(f.n).toBe(Number(p.n));
        expect(f.sum).toBe(Number(p.sum) / 10);
        expect(f.mean).toBe(Number(p.sum) / (Number(p.n) * 10));
        expect(f.variance).toBe(Number(p.n * p.sumsq - p.sum * p.sum) / (Number(p.n * p.n) * 100));
        // Bins under the minimum cell size are withheld (one more when a lone one would follow from n).
        const small = p.hist.map((h) => h > 0 && h < 11);
        if (small.filter(Boolean).length === 1) {
          const others = p.hist.map((h, b) => (small[b] || h === 0 ? Infinity : h));
          small[others.indexOf(Math.min(...others))] = true;
        }
        expect(f.histogram).toEqual(p.hist.map((h, b) => (small[b] ? null : h)));
        compared++;
      }
      // The pooled median lies within one bin width of the interpolated one.
      const ages = [...rows.values()].flat().filter((x) => x.ward === w).map((x) => Number(x.age)).sort((a, b) => a - b);
      const median = ages[Math.floor((ages.length - 1) / 2)]!;
      expect(Math.abs(c.fields!.age!.quantiles!['0.5']! - median)).toBeLessThanOrEqual(r.quantileResolution.age!);
    }
    expect(compared).toBe(4);
    // The job listing and overview still work for a statistics job.
    for (const path of [`/v1/jobs/${id}`, `/v1/jobs/${id}/overview`]) {
      expect((await fetch(`${t.coordinator.rest}${path}`, { headers: { authorization: `Bearer ${t.coordinator.adminToken}` } })).status).toBe(200);
    }
    // An auditor sees metadata only.
    const auditorKey = await t.coordinator.auth.createApiKey({ name: 'auditor', role: 'auditor', createdBy: 'test' });
    const tok = await fetch(`${t.coordinator.rest}/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: auditorKey.key }) });
    const auditorView = await view(id, ((await tok.json()) as { access_token: string }).access_token);
    expect(auditorView.status).toBe('published');
    expect(auditorView.result).toBeUndefined();
    expect(auditorView.query).toBeUndefined();
  }, 120_000);

  it('with DP noise: every value within the stated bound, epsilon charged to each site ledger', async () => {
    const q = { ...base, name: 'noisy', dp: { epsilon: 2, mechanism: 'laplace' } };
    const before = await new PrivacyLedger({ stateDir: join(root, 'site-b'), dataset: 'default' }).read();
    const id = await submit(q);
    await drive(id);
    const v = await view(id);
    expect(v.status).toBe('published');
    const r = v.result as StatsResult;
    const after = await new PrivacyLedger({ stateDir: join(root, 'site-b'), dataset: 'default' }).read();
    expect(after.spent.epsilon - before.spent.epsilon).toBeCloseTo(2, 9);
    const parsed = parseStatsQuery(q);
    const plan = noisePlan(parsed, statsLayout(parsed));
    const bound = (kind: string, field: string | null) => noiseBound('laplace', plan.find((k) => k.kind === kind && k.field === field)!, 3, statsLayout(parsed).length);
    expect(r.noise!.bounds.find((b) => b.kind === 'count')!.bound).toBeCloseTo(bound('count', null), 6);
    const age = pooled('age', 0, 120, 12, 10);
    let checked = 0;
    for (const c of r.cells.filter((x) => !x.suppressed)) {
      const p = age.get(c.group.ward!)!;
      expect(Math.abs(c.count! - Number(p.count))).toBeLessThanOrEqual(bound('count', null));
      const f = c.fields!.age;
      if (!f) continue;
      expect(Math.abs(f.sum! - Number(p.sum) / 10)).toBeLessThanOrEqual(bound('sum', 'age') / 10);
      f.histogram!.forEach((h, b) => { if (h !== null) expect(Math.abs(h - p.hist[b]!)).toBeLessThanOrEqual(bound('histogram', 'age')); });
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  }, 120_000);

  it('refuses a query naming a direct identifier, with the reason, before any budget is spent', async () => {
    const before = await new PrivacyLedger({ stateDir: join(root, 'site-a'), dataset: 'default' }).read();
    const id = await submit({ ...base, name: 'by name', groupBy: [{ field: 'patient_name', categories: ['Patient 0-1'] }], encryption: { enabled: false }, dp: { epsilon: 1, mechanism: 'laplace' } });
    await drive(id);
    const v = await view(id);
    expect(v.status).toBe('failed');
    const part = v.participation as { site: string; state: string; reason?: string; message?: string }[];
    expect(part.every((p) => p.state === 'refused' && p.reason === 'MASK_FIELD_NOT_VISIBLE' && p.message!.includes('patient_name'))).toBe(true);
    expect((await new PrivacyLedger({ stateDir: join(root, 'site-a'), dataset: 'default' }).read()).spent).toEqual(before.spent);
  }, 120_000);

  it('a site whose budget would be exceeded refuses before computing; the query fails naming it', async () => {
    const ledger = new PrivacyLedger({ stateDir: join(root, 'site-c'), dataset: 'default' });
    const spent = (await ledger.read()).spent.epsilon;
    await ledger.setBudget({ epsilon: spent + 0.5, delta: 1e-5 });
    const id = await submit({ ...base, name: 'over budget', encryption: { enabled: false }, dp: { epsilon: 1, mechanism: 'laplace' } });
    await drive(id);
    const v = await view(id);
    expect(v.status).toBe('failed');
    const part = v.participation as { site: string; state: string; reason?: string }[];
    expect(part.find((p) => p.site === 'site-c')).toMatchObject({ state: 'refused', reason: 'PRIVACY_BUDGET_EXCEEDED' });
    expect((await ledger.read()).spent.epsilon).toBe(spent);
  }, 120_000);

  /** Audit events of a job's publish step, with their details. */
  async function publishEvents(id: string): Promise<{ action: string; outcome: string; actor: string; details: Record<string, unknown> }[]> {
    const { rows: events } = await t.coordinator.db.query<{ action: string; outcome: string; actor: string; event: string }>(
      `SELECT action, outcome, actor, event FROM audit_events WHERE job = $1 AND (action LIKE 'stats.publish%' OR action = 'job.fail') ORDER BY seq`, [id]);
    return events.map((e) => ({ action: e.action, outcome: e.outcome, actor: e.actor, details: (JSON.parse(e.event) as { details: Record<string, unknown> }).details }));
  }

  // A short publish deadline (the query's own, 3 s) keeps these fast; plaintext keeps the answers well inside it.
  const counts = { ...base, fields: [], statistics: ['count'], encryption: { enabled: false }, deadlineSeconds: 3 };

  it('a publishing site that misses its deadline is passed over: the next site that answered publishes the right result', async () => {
    const id = await submit({ ...counts, name: 'publisher away' });
    const ignored = new Map<string, Task>();
    const started = Date.now();
    await drive(id, new Set(['site-a']), ignored);
    const v = await view(id);
    expect(v.status).toBe('published');
    expect(v.publishingSite).toBe('site-b');
    const r = v.result as StatsResult;
    expect(r.publishedBy).toBe('site-b');
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
    const { key: siteBKey } = await loadOrCreateAttestationKey(join(root, 'site-b', 'attestation.jwk'));
    expect(await verifyStatsResult(v.resultJws as string, publicAttestationJwk(siteBKey) as unknown as JWK)).toEqual(r);
    const age = pooled('age', 0, 120, 12, 10);
    const expected = WARDS.map((w) => Number(age.get(w)!.count));
    expect(r.total.count).toBe(expected.reduce((a, b) => a + b, 0));
    for (const c of r.cells.filter((x) => !x.suppressed)) expect(c.count).toBe(expected[WARDS.indexOf(c.group.ward!)]);
    expect(r.cells.filter((x) => !x.suppressed)).not.toHaveLength(0);
    expect((await publishEvents(id)).map((e) => [e.action, e.outcome, e.actor, e.details.site, e.details.reason ?? null])).toEqual([
      ['stats.publish', 'failure', 'site-a', 'site-a', 'STATS_PUBLISH_TIMEOUT'],
      ['stats.publish.handover', 'success', 'coordinator', 'site-b', 'STATS_PUBLISH_TIMEOUT'],
      ['stats.publish', 'success', 'site-b', 'site-b', null],
    ]);
    // The site that missed its turn cannot publish afterwards.
    expect(ignored.get('site-a')).toBeDefined();
    await expect(runStatsPublishTask(contextOf('site-a', ignored.get('site-a')!))).rejects.toMatchObject({ code: 'ROUND_MISMATCH' });
    expect(((await view(id)).result as StatsResult).publishedBy).toBe('site-b');
  }, 120_000);

  it('when every answering site misses its publish deadline the query fails with STATS_PUBLISH_TIMEOUT', async () => {
    const id = await submit({ ...counts, name: 'nobody publishes' });
    await drive(id, new Set(SITES));
    const v = await view(id);
    expect(v.status).toBe('failed');
    expect(v.result).toBeNull();
    expect(String(v.failure)).toMatch(/^STATS_PUBLISH_TIMEOUT: /);
    expect((await t.coordinator.engine.job(id)).status).toBe('failed');
    expect((await publishEvents(id)).map((e) => [e.action, e.outcome, e.details.site ?? null, e.details.reason])).toEqual([
      ['stats.publish', 'failure', 'site-a', 'STATS_PUBLISH_TIMEOUT'],
      ['stats.publish.handover', 'success', 'site-b', 'STATS_PUBLISH_TIMEOUT'],
      ['stats.publish', 'failure', 'site-b', 'STATS_PUBLISH_TIMEOUT'],
      ['stats.publish.handover', 'success', 'site-c', 'STATS_PUBLISH_TIMEOUT'],
      ['stats.publish', 'failure', 'site-c', 'STATS_PUBLISH_TIMEOUT'],
      ['job.fail', 'failure', null, 'STATS_PUBLISH_TIMEOUT'],
    ]);
  }, 120_000);

  it('medfed stats run submits a query and prints its result', async () => {
    const file = join(root, 'query.yaml');
    await writeFile(file, ['name: counts by ward', 'sites: [site-a, site-b, site-c]', 'groupBy:', '  - field: ward', '    categories: [A, B, D]',
      'statistics: [count]', 'encryption:', '  enabled: false'].join('\n'));
    const run = runCli(['stats', 'run', file, '--wait', '--format', 'json', '--coordinator', t.coordinator.rest, '--token', t.coordinator.adminToken], { timeoutMs: 120_000 });
    // The agents answer while the command waits.
    for (let i = 0; i < 300; i++) {
      const { rows: jobs } = await t.coordinator.db.query<{ id: string }>(`SELECT id FROM jobs WHERE name = 'counts by ward'`);
      if (jobs[0]) { await drive(jobs[0].id); break; }
      await new Promise((r) => setTimeout(r, 200));
    }
    const out = await run;
    expect(out.code).toBe(0);
    const printed = JSON.parse(out.stdout) as { status: string; result: StatsResult };
    expect(printed.status).toBe('published');
    const age = pooled('age', 0, 120, 12, 10);
    expect(printed.result.cells.map((c) => c.count)).toEqual(['A', 'B', 'D'].map((w) => Number(age.get(w)!.count)));
  }, 180_000);
});
