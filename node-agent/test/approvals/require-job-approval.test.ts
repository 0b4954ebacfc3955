import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { NodeAgent } from '../../src/agent.js';
import { ApprovalStore, jobSpecDigest, requireJobApproval } from '../../src/approvals/index.js';
import { loadAgentConfig } from '../../src/config/load.js';

const spec = { name: 'sepsis', features: ['age', 'lactate'], label: 'y', classes: ['no', 'yes'], sites: ['site-a', 'site-b'], rounds: 3 };
const dirs: string[] = [];
async function store(): Promise<ApprovalStore> {
  const d = await mkdtemp(join(tmpdir(), 'medfed-approvals-'));
  dirs.push(d);
  return new ApprovalStore(d);
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(() => 'resolved', (err: { code?: string }) => err.code ?? 'no code');
}

describe('job approval by the site steward', () => {
  it('refuses an unapproved job and remembers what the coordinator announced for the steward', async () => {
    const s = await store();
    const json = JSON.stringify(spec);
    expect(await codeOf(requireJobApproval(s, { jobId: 'job-1', jobSpecJson: json, autoApprove: false }))).toBe('JOB_NOT_APPROVED');
    const announced = await s.announcement('job-1');
    expect(announced?.specDigest).toBe(jobSpecDigest(json, 'job-1'));
    expect(announced?.spec).toEqual(spec);
    expect((await stat(s.path)).mode & 0o777).toBe(0o600);
  });

  it('runs an approved job, with the spec as announced in any key order', async () => {
    const s = await store();
    const json = JSON.stringify(spec);
    await s.approve({ jobId: 'job-1', specDigest: jobSpecDigest(json, 'job-1'), ethicsRef: 'IRB-2026-114', approvedAt: new Date().toISOString(), approver: 'steward', mode: 'steward' });
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(spec).reverse()));
    const { approval, granted } = await requireJobApproval(s, { jobId: 'job-1', jobSpecJson: reordered, autoApprove: false });
    expect(granted).toBe(false);
    expect(approval.ethicsRef).toBe('IRB-2026-114');
    expect(JSON.parse(await readFile(s.path, 'utf8')).approvals).toHaveLength(1);
  });

  it('refuses once the spec changed, until the steward approves the new one', async () => {
    const s = await store();
    await s.approve({ jobId: 'job-1', specDigest: jobSpecDigest(JSON.stringify(spec), 'job-1'), ethicsRef: 'IRB-1', approvedAt: new Date().toISOString(), approver: 'steward', mode: 'steward' });
    const changed = JSON.stringify({ ...spec, features: [...spec.features, 'crp'] });
    expect(await codeOf(requireJobApproval(s, { jobId: 'job-1', jobSpecJson: changed, autoApprove: false }))).toBe('JOB_APPROVAL_SPEC_CHANGED');
    expect((await s.announcement('job-1'))?.specDigest).toBe(jobSpecDigest(changed, 'job-1'));
    // Another job's approval does not carry over either.
    expect(await codeOf(requireJobApproval(s, { jobId: 'job-2', jobSpecJson: JSON.stringify(spec), autoApprove: false }))).toBe('JOB_NOT_APPROVED');
  });

  it('approves on first sight only in development harnesses, and says so in the record', async () => {
    const s = await store();
    const { approval, granted } = await requireJobApproval(s, { jobId: 'job-1', jobSpecJson: JSON.stringify(spec), autoApprove: true });
    expect(granted).toBe(true);
    expect(approval.mode).toBe('development');
    expect(approval.ethicsRef).toBe('development-auto-approval');
  });

  it('refuses a task without a job spec, and an approvals file others can read', async () => {
    const s = await store();
    expect(await codeOf(requireJobApproval(s, { jobId: 'job-1', jobSpecJson: '', autoApprove: true }))).toBe('JOB_SPEC_MISSING');
    await requireJobApproval(s, { jobId: 'job-1', jobSpecJson: JSON.stringify(spec), autoApprove: true });
    const { chmod } = await import('node:fs/promises');
    await chmod(s.path, 0o644);
    expect(await codeOf(s.find('job-1'))).toBe('APPROVAL_STATE_INVALID');
  });

  it('refuses to start a production agent whose stewards would approve automatically', async () => {
    const s = await store();
    const stateDir = join(s.path, '..', '..');
    const config = await loadAgentConfig({ env: {}, overrides: {
      env: 'production', siteId: 'site-a', 'coordinator.grpc': 'localhost:1', 'data.csv': join(stateDir, 'none.csv'), 'data.label': 'y', stateDir,
      'approvals.autoApproveInDevelopment': true,
    } });
    expect(await codeOf(new NodeAgent(config, pino({ level: 'silent' })).prepare())).toBe('APPROVAL_AUTO_IN_PRODUCTION');
  });

  it('validates what a steward records', async () => {
    const s = await store();
    const ok = { jobId: 'job-1', specDigest: 'a'.repeat(64), ethicsRef: 'DUA-7', approvedAt: new Date().toISOString(), approver: 'steward', mode: 'steward' as const };
    expect(await codeOf(s.approve({ ...ok, ethicsRef: ' ' }))).toBe('APPROVAL_INVALID');
    expect(await codeOf(s.approve({ ...ok, ethicsRef: 'IRB 2026 (see patient list)' }))).toBe('APPROVAL_INVALID');
    expect(await codeOf(s.approve({ ...ok, specDigest: 'xyz' }))).toBe('APPROVAL_INVALID');
    expect(await codeOf(s.approve({ ...ok, jobId: '../etc' }))).toBe('APPROVAL_INVALID');
    expect(await codeOf(s.approve(ok))).toBe('resolved');
  });
});
