import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobSpec } from '@medfed/proto';
import { loadAgentConfig, type AgentConfig } from '@medfed/node-agent';
import { ApprovalStore, jobSpecDigest } from '@medfed/node-agent/approvals/index';
import { jobChecks, preflightExitCode, PREFLIGHT_CHECKS, type CheckResult } from '../../src/commands/preflight.js';
import { runCli } from '../../../test/support/cli.js';
import { startTestCoordinator, type TestCoordinator } from '../../../test/support/coordinator.js';

/**
 * `medfed agent preflight --job J` / `--spec FILE`: the job's features and label against the local
 * file, with the same drop rule and messages as round 0 (node-agent/src/data/dropped-rows.ts).
 */
const spec: JobSpec = {
  name: 'readmission', features: ['age', 'bmi'], label: 'outcome', classes: ['low', 'high'], model: { hidden: [4], activation: 'relu' },
  training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 1 },
  rounds: 1, minSites: 1, roundDeadlineSeconds: 60, strategy: { name: 'fedavg' }, sites: ['site-a'], standardization: 'none',
};

/** 50 rows; `bad` replaces cells by row index (row i is on line i + 2). */
function cohort(bad: Record<number, { age?: string; bmi?: string }> = {}, extra?: (i: number) => string): string {
  const lines = [`patient_id,age,bmi,outcome${extra ? ',sex' : ''}`];
  for (let i = 0; i < 50; i++) {
    lines.push(`P${i},${bad[i]?.age ?? 30 + (i % 40)},${bad[i]?.bmi ?? (18 + (i % 15) * 0.7).toFixed(1)},${i % 2 ? 'high' : 'low'}${extra ? `,${extra(i)}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

describe('medfed agent preflight --job / --spec', () => {
  let dir: string;
  let files: { typo: string; tooMany: string; text: string; spec: string; wrapped: string; notSpec: string };
  const config = (csv: string, stateDir = join(dir, 'state')): Promise<AgentConfig> => loadAgentConfig({
    env: {}, overrides: { siteId: 'site-a', 'coordinator.grpc': '127.0.0.1:1', 'data.csv': csv, 'data.label': 'outcome', stateDir },
  });
  const check = async (csv: string, job: NonNullable<Parameters<typeof jobChecks>[0]['job']>, stateDir?: string): Promise<Record<string, CheckResult>> => {
    const results: CheckResult[] = [];
    await jobChecks({ config: await config(csv, stateDir), job }, results);
    return Object.fromEntries(results.map((r) => [r.id, r]));
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'medfed-preflight-job-'));
    const write = async (name: string, text: string) => {
      await writeFile(join(dir, name), text);
      return join(dir, name);
    };
    files = {
      typo: await write('typo.csv', cohort({ 9: { age: '12O' }, 19: { bmi: 'n/a' } })),
      tooMany: await write('too-many.csv', cohort({ 2: { age: '12O' }, 5: { bmi: 'x' }, 6: { age: 'n/a' }, 30: { age: '7O' }, 40: { bmi: '' } })),
      text: await write('text.csv', cohort({}, (i) => (i % 3 ? 'F' : 'M'))),
      spec: await write('spec.json', JSON.stringify(spec)),
      wrapped: await write('job.json', JSON.stringify({ id: 'job-1', status: 'running', spec: { ...spec, features: ['age', 'sex'] } })),
      notSpec: await write('not-spec.json', JSON.stringify({ name: 'x', features: 'age' })),
    };
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('passes data with a 12O and an n/a, saying which rows drop per column', async () => {
    const r = await check(files.typo, { specFile: files.spec });
    expect(r.jobSpec).toMatchObject({ ok: true, detail: expect.stringContaining('label outcome, features age, bmi') });
    expect(r.jobData).toMatchObject({ ok: true });
    expect(r.jobData!.detail).toBe('48 of 50 rows usable; 2 dropped (age 1 unparsable; bmi 1 empty), within the 5% this site accepts (data.maxDroppedShare)');
  });

  it('refuses 10% bad rows with the round-0 message and its own exit code', async () => {
    const r = await check(files.tooMany, { specFile: files.spec });
    expect(r.jobData).toMatchObject({ ok: false, code: 'PREFLIGHT_JOB_DATA_MISMATCH', exit: PREFLIGHT_CHECKS.jobData.exit });
    expect(r.jobData!.detail).toMatch(/^DATA_TOO_MANY_DROPPED: Site data does not fit job "readmission": 5 of 50 rows \(10%\)/);
    expect(r.jobData!.detail).toContain('First rows: line 4: age "12O" is not a number; line 7: bmi "x" is not a number; line 8: age is empty or NA.');
    expect(r.jobData!.fix).toMatch(/data\.maxDroppedShare/);
    expect(preflightExitCode(Object.values(r))).toBe(20);
  });

  it('names a text feature as categorical and says how to encode it (spec as GET /v1/jobs/:id returns it)', async () => {
    const r = await check(files.text, { specFile: files.wrapped });
    expect(r.jobData?.ok).toBe(false);
    expect(r.jobData!.detail).toMatch(/^DATA_SCHEMA_MISMATCH: .*feature "sex" is not numeric at this site: it holds text/);
    expect(r.jobData!.detail).toContain('encode it in the export as 0/1 numeric columns');
  });

  it('fails the spec check, not the data check, when there is no usable spec', async () => {
    for (const specFile of [join(dir, 'missing.json'), files.notSpec]) {
      const r = await check(files.typo, { specFile });
      expect(r.jobSpec).toMatchObject({ ok: false, code: 'PREFLIGHT_JOB_SPEC_UNAVAILABLE', exit: 19 });
      expect(r.jobData?.ok).toBeNull();
    }
    const r = await check(files.typo, { specFile: files.notSpec });
    expect(r.jobSpec!.detail).toContain('"features" must be a non-empty list');
  });

  it('uses the spec announced to this agent while the job awaits approval (no key needed)', async () => {
    const stateDir = join(dir, 'state-announced');
    const json = JSON.stringify(spec);
    await new ApprovalStore(stateDir).announce({ jobId: 'job-7', specDigest: jobSpecDigest(json, 'job-7'), spec, announcedAt: new Date().toISOString() });
    const r = await check(files.tooMany, { id: 'job-7', keyFile: join(dir, 'no-key') }, stateDir);
    expect(r.jobSpec).toMatchObject({ ok: true, detail: expect.stringContaining('announced to this agent') });
    expect(r.jobData).toMatchObject({ ok: false, detail: expect.stringContaining('DATA_TOO_MANY_DROPPED') });
  });

  describe('with the REST API and a site steward key', () => {
    let t: TestCoordinator;
    let jobId: string;
    const keyFor = async (name: string, site: string): Promise<string> => {
      const res = await fetch(`${t.coordinator.rest}/v1/admin/api-keys`, {
        method: 'POST', headers: { authorization: `Bearer ${t.coordinator.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name, role: 'site-steward', site, expiresInDays: 1 }),
      });
      expect(res.status).toBe(201);
      const file = join(dir, `${name}.key`);
      await writeFile(file, (await res.json() as { apiKey: string }).apiKey, { mode: 0o600 });
      return file;
    };

    beforeAll(async () => {
      t = await startTestCoordinator('pglite');
      await t.coordinator.engine.registerSite('site-a', 'site-a');
      await t.coordinator.engine.registerSite('site-b', 'site-b');
      jobId = (await t.coordinator.engine.createJob(spec, 'tester')).id;
    });
    afterAll(async () => t?.stop());

    it('fetches the job\'s spec with this site\'s steward key and checks the data', async () => {
      const r = await check(files.typo, { id: jobId, rest: t.coordinator.rest, keyFile: await keyFor('steward-a', 'site-a') });
      expect(r.jobSpec).toMatchObject({ ok: true, detail: expect.stringContaining(`GET /v1/jobs/${jobId}`) });
      expect(r.jobData).toMatchObject({ ok: true, detail: expect.stringMatching(/^48 of 50 rows usable/) });
    });

    it('says why the spec is unavailable: another site\'s key, no key', async () => {
      const other = await check(files.typo, { id: jobId, rest: t.coordinator.rest, keyFile: await keyFor('steward-b', 'site-b') });
      expect(other.jobSpec).toMatchObject({ ok: false, code: 'PREFLIGHT_JOB_SPEC_UNAVAILABLE' });
      expect(other.jobSpec!.detail).toContain(`job ${jobId} was not announced to this agent, and ${t.coordinator.rest} did not give its spec`);
      const none = await check(files.typo, { id: jobId, rest: t.coordinator.rest, keyFile: join(dir, 'no-such.key') });
      expect(none.jobSpec!.detail).toContain('AUTH_KEY_FILE_UNREADABLE');
    });
  });

  it('is wired into the command: --spec adds both checks to the report', async () => {
    const run = await runCli(['agent', 'preflight', '--format', 'json', '--timeout', '500', '--site', 'site-a', '--coordinator', '127.0.0.1:1',
      '--data', files.tooMany, '--label', 'outcome', '--state-dir', join(dir, 'state-cli'), '--bwrap', join(dir, 'no-bwrap'), '--spec', files.spec]);
    const report = JSON.parse(run.stdout) as { checks: CheckResult[] };
    const ids = report.checks.map((c) => c.id);
    expect(ids.slice(ids.indexOf('schema'))).toEqual(['schema', 'jobSpec', 'jobData', 'sandbox']);
    expect(report.checks.find((c) => c.id === 'jobData')).toMatchObject({ ok: false, code: 'PREFLIGHT_JOB_DATA_MISMATCH', exit: 20 });
    expect(run.code).toBe(PREFLIGHT_CHECKS.reachable.exit); // the first failed check in the published order decides
  });
});
