import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pino from 'pino';
import type { StatsResult } from '@medfed/proto/stats/index';
import { startTestCoordinator, type TestCoordinator } from '../../../test/support/coordinator.js';
import { runCli } from '../../../test/support/cli.js';
import { AGENT_VERSION, NodeAgent } from '../../src/agent.js';
import { ApprovalStore } from '../../src/approvals/index.js';
import { loadAgentConfig } from '../../src/config/load.js';
import { ensureSiteKeys, pinsOf } from '../../src/custody/site-keys.js';
import { channelCredentials, enrollAgent } from '../../src/identity/index.js';

const SITES = ['site-a', 'site-b', 'site-c'] as const;
/** site-c's steward approves by hand; the other two are development agents that approve on first sight. */
const STEWARD_SITE = 'site-c';
/** site-b keeps its opt-out list in a file of its own name (data.optOutFile). */
const OPT_OUT_SITE = 'site-b';
/** The one site that declares its masking schema under `queryApi` rather than `data`. */
const QUERY_API_SITE = 'site-c';
const WARDS = ['A', 'B', 'D'];

interface Row { mrn: string; patient_name: string; ward: string; age: string; outcome: string }

/** A deterministic cohort per site; every ward is large enough pooled that no cell is suppressed. */
function cohort(site: number, n: number): Row[] {
  let s = 4242 + site * 7919;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: n }, (_, i) => ({
    mrn: `MRN${site}${String(i).padStart(4, '0')}`, patient_name: `Patient ${site}-${i}`,
    ward: WARDS[i % 3]!, age: (18 + rnd() * 80).toFixed(1), outcome: rnd() < 0.5 ? 'yes' : 'no',
  }));
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('federated statistics through the real agent dispatch (three NodeAgents, coordinator on PostgreSQL)', () => {
  let t: TestCoordinator;
  const agents: NodeAgent[] = [];
  const running: Promise<void>[] = [];
  const rows = new Map<string, Row[]>();
  const stateDirs = new Map<string, string>();
  let optedOut: Row;

  beforeAll(async () => {
    t = await startTestCoordinator('postgres');
    const pins = [];
    for (const [i, id] of SITES.entries()) {
      await t.coordinator.engine.registerSite(id, id);
      const dir = join(t.dataDir, id);
      const stateDir = join(dir, 'state');
      stateDirs.set(id, stateDir);
      await mkdir(stateDir, { recursive: true, mode: 0o700 });
      // The agent finds these keys in its state dir; the stewards exchanged their thumbprints out of band.
      pins.push(pinsOf(id, await ensureSiteKeys(stateDir)));
      const data = cohort(i, 45 + 12 * i);
      rows.set(id, data);
      await writeFile(join(dir, 'data.csv'), ['mrn,patient_name,ward,age,outcome', ...data.map((r) => `${r.mrn},${r.patient_name},${r.ward},${r.age},${r.outcome}`)].join('\n') + '\n');
      await writeFile(join(dir, 'masking-schema.json'), JSON.stringify({ patientIdField: 'mrn', fields: [
        { name: 'mrn', type: 'string', class: 'direct-identifier', identifier: 'medical-record-number', defaultTransform: 'pseudonymize' },
        { name: 'patient_name', type: 'string', class: 'direct-identifier', identifier: 'name', defaultTransform: 'redact' },
        { name: 'ward', type: 'category', class: 'clinical' },
        { name: 'age', type: 'number', class: 'clinical' },
        { name: 'outcome', type: 'category', class: 'clinical' },
      ] }));
    }
    // One patient of site-b withdrew consent: they must not be counted anywhere.
    optedOut = rows.get(OPT_OUT_SITE)!.find((r) => r.ward === 'A')!;
    await writeFile(join(stateDirs.get(OPT_OUT_SITE)!, 'withdrawn.txt'), `${optedOut.mrn}\n`);
    const pinnedFile = join(t.dataDir, 'pinned-sites.json');
    await writeFile(pinnedFile, JSON.stringify({ sites: pins }));

    for (const id of SITES) {
      const dir = join(t.dataDir, id);
      const stateDir = stateDirs.get(id)!;
      const { code } = await t.coordinator.auth.createEnrollmentCode(id, 'test');
      await enrollAgent({ coordinator: t.coordinator.grpc, channelCredentials: channelCredentials(t.coordinator.grpc, undefined), siteId: id, code, stateDir, agentVersion: AGENT_VERSION });
      const config = await loadAgentConfig({ env: {}, overrides: {
        siteId: id, 'coordinator.grpc': t.coordinator.grpc, stateDir, pollWaitMs: 500, heartbeatSeconds: 1, logLevel: 'silent',
        'data.csv': join(dir, 'data.csv'), 'data.label': 'outcome', ...(id === OPT_OUT_SITE ? { 'data.optOutFile': 'withdrawn.txt' } : {}),
        // Statistics read the data-level masking schema and need no query API; site-c, configured the
        // older way, still answers under its query API's schema (the fallback).
        ...(id === QUERY_API_SITE
          ? { 'queryApi.port': 0, 'queryApi.schema': join(dir, 'masking-schema.json') }
          : { 'data.maskingSchema': join(dir, 'masking-schema.json') }),
        'custody.pinnedSites': pinnedFile, 'custody.autoApproveSiteLists': true,
        'approvals.autoApproveInDevelopment': id !== STEWARD_SITE,
      } });
      const agent = new NodeAgent(config, pino({ level: 'silent' }));
      await agent.prepare();
      agents.push(agent);
      running.push(agent.run());
    }
    // Each agent enrolls its key-agreement key when it starts; an encrypted query needs all three on record.
    await until('the agents to enroll their keys', async () => {
      const { rows: enrolled } = await t.coordinator.db.query('SELECT id FROM sites WHERE key_agreement_jwk IS NOT NULL');
      return enrolled.length === SITES.length ? true : undefined;
    });
  }, 60_000);

  afterAll(async () => {
    for (const agent of agents) await agent.stop();
    await Promise.all(running.map((r) => r.catch(() => undefined)));
    await t?.stop();
  });

  const approvalEvents = async (job: string) => (await t.coordinator.db.query<{ outcome: string; actor: string; event: string }>(
    `SELECT outcome, actor, event FROM audit_events WHERE action = 'job.site-approval' AND event LIKE $1 ORDER BY seq`, [`%${job}%`])).rows;

  async function view(id: string): Promise<Record<string, unknown>> {
    const res = await fetch(`${t.coordinator.rest}/v1/stats/queries/${id}`, { headers: { authorization: `Bearer ${t.coordinator.adminToken}` } });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  }

  /**
   * site-c refuses the job's first task (JOB_NOT_APPROVED, reported to the audit trail) and nothing
   * of the job runs there until its steward approves the announced spec.
   */
  async function stewardApproves(jobId: string): Promise<void> {
    const denied = await until('site-c to refuse the unapproved job', async () => (await approvalEvents(jobId)).find((e) => e.outcome === 'denied'));
    expect(JSON.parse(denied.event).details).toMatchObject({ job: jobId, reason: 'JOB_NOT_APPROVED' });
    const store = new ApprovalStore(stateDirs.get(STEWARD_SITE)!);
    const announced = (await store.announcement(jobId))!;
    expect(announced).toBeDefined();
    expect((await view(jobId)).status).toBe('collecting');
    await store.approve({ jobId, specDigest: announced.specDigest, ethicsRef: 'IRB-2026-207', approvedAt: new Date().toISOString(), approver: 'steward', mode: 'steward' });
  }

  /** The pooled computation over the three CSVs minus the opted-out patient, in fixed point (decimals 1). */
  function pooled(exclude: ReadonlySet<string>): Map<string, { count: number; sum: bigint }> {
    const out = new Map(WARDS.map((w) => [w, { count: 0, sum: 0n }]));
    for (const r of [...rows.values()].flat()) {
      if (exclude.has(r.mrn)) continue;
      const p = out.get(r.ward)!;
      p.count++;
      p.sum += BigInt(Math.round(Math.min(120, Math.max(0, Number(r.age))) * 10));
    }
    return out;
  }

  it('an encrypted query submitted over REST is approved, keyed, answered and published by the agents, without the opted-out patient', async () => {
    const query = {
      name: 'age by ward', sites: [...SITES], groupBy: [{ field: 'ward', categories: WARDS }],
      fields: [{ name: 'age', lower: 0, upper: 120, bins: 4 }], statistics: ['count', 'sum', 'mean'], decimals: 1, deadlineSeconds: 60,
    };
    const res = await fetch(`${t.coordinator.rest}/v1/stats/queries`, {
      method: 'POST', headers: { authorization: `Bearer ${t.coordinator.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(query),
    });
    const created = (await res.json()) as { id: string; message?: string };
    expect([res.status, created.message]).toEqual([201, undefined]);
    const { id } = created;

    await stewardApproves(id);
    const v = await until('the query to finish', async () => {
      const current = await view(id);
      return current.status === 'published' || current.status === 'failed' ? current : undefined;
    });
    expect(v.status).toBe('published');
    expect(v.encrypted).toBe(true);
    const r = v.result as StatsResult;
    expect(SITES).toContain(r.publishedBy);
    expect([...r.contributors].sort()).toEqual([...SITES]);

    // The gate applied: site-c refused first, then reported its steward's approval; the others approved automatically.
    const events = await approvalEvents(id);
    const outcomes = (site: string) => events.filter((e) => e.actor === site).map((e) => e.outcome);
    expect(outcomes(STEWARD_SITE)).toEqual(['denied', 'success']);
    expect(JSON.parse(events.find((e) => e.actor === STEWARD_SITE && e.outcome === 'success')!.event).details).toMatchObject({ job: id, ethics_ref: 'IRB-2026-207' });
    for (const site of SITES.filter((s) => s !== STEWARD_SITE)) expect(outcomes(site)).toEqual(['success']);

    // Equal to the pooled computation over the three CSVs, less the patient on site-b's opt-out list.
    const expected = pooled(new Set([optedOut.mrn]));
    const withEveryone = pooled(new Set());
    expect(r.cells.map((c) => c.group.ward)).toEqual(WARDS);
    for (const c of r.cells) {
      const p = expected.get(c.group.ward!)!;
      expect(c.suppressed).toBe(false);
      expect(c.count).toBe(p.count);
      expect(c.fields!.age!.sum).toBe(Number(p.sum) / 10);
      expect(c.fields!.age!.mean).toBe(Number(p.sum) / (p.count * 10));
    }
    expect(r.cells.find((c) => c.group.ward === optedOut.ward)!.count).toBe(withEveryone.get(optedOut.ward)!.count - 1);
    expect(r.total.count).toBe([...withEveryone.values()].reduce((a, p) => a + p.count, 0) - 1);
  }, 120_000);

  it('medfed stats run --wait --format json prints the result the agents publish', async () => {
    const file = join(t.dataDir, 'query.yaml');
    await writeFile(file, ['name: patients by ward', `sites: [${SITES.join(', ')}]`, 'groupBy:', '  - field: ward', `    categories: [${WARDS.join(', ')}]`,
      'statistics: [count]'].join('\n'));
    const run = runCli(['stats', 'run', file, '--wait', '--format', 'json', '--coordinator', t.coordinator.rest, '--token', t.coordinator.adminToken], { timeoutMs: 90_000 });
    const jobId = await until('the CLI to submit its query', async () => (await t.coordinator.db.query<{ id: string }>(`SELECT id FROM jobs WHERE name = 'patients by ward'`)).rows[0]?.id);
    await stewardApproves(jobId);
    const out = await run;
    expect(out.code).toBe(0);
    const printed = JSON.parse(out.stdout) as { status: string; result: StatsResult };
    expect(printed.status).toBe('published');
    const expected = pooled(new Set([optedOut.mrn]));
    expect(printed.result.cells.map((c) => c.count)).toEqual(WARDS.map((w) => expected.get(w)!.count));
  }, 120_000);
});
