import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApprovalStore, jobSpecDigest, requireJobApproval } from '@medfed/node-agent/approvals/index';
import { LocalUsers } from '@medfed/node-agent/query-api/index';
import { runCli } from '../../../test/support/cli.js';

const spec = JSON.stringify({ name: 'readmission', features: ['age'], label: 'y', classes: ['a', 'b'], sites: ['site-a'] });

describe('medfed agent approve / approvals / users (site steward)', () => {
  let stateDir: string;
  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'medfed-steward-'));
  });
  afterAll(async () => rm(stateDir, { recursive: true, force: true }));

  it('approves the spec the coordinator announced, and refuses a digest that is not it', async () => {
    const store = new ApprovalStore(stateDir);
    await expect(requireJobApproval(store, { jobId: 'job-1', jobSpecJson: spec, autoApprove: false })).rejects.toMatchObject({ code: 'JOB_NOT_APPROVED' });
    const waiting = await runCli(['agent', 'approvals', '--state-dir', stateDir]);
    expect(waiting.code).toBe(0);
    expect(JSON.parse(waiting.stdout).waiting[0]).toMatchObject({ jobId: 'job-1', specDigest: jobSpecDigest(spec, 'job-1') });

    const wrong = await runCli(['agent', 'approve', '--state-dir', stateDir, '--job', 'job-1', '--ethics-ref', 'IRB-1', '--spec-digest', 'b'.repeat(64)]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('APPROVAL_SPEC_MISMATCH');

    const ok = await runCli(['agent', 'approve', '--state-dir', stateDir, '--job', 'job-1', '--ethics-ref', 'IRB-2026-114', '--approver', 'steward-lee', '--json']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ event: 'job-approved', jobId: 'job-1', ethicsRef: 'IRB-2026-114', approver: 'steward-lee', mode: 'steward' });
    const { approval } = await requireJobApproval(store, { jobId: 'job-1', jobSpecJson: spec, autoApprove: false });
    expect(approval.specDigest).toBe(jobSpecDigest(spec, 'job-1'));
    expect((await stat(store.path)).mode & 0o777).toBe(0o600);
  });

  it('issues a local API key once and keeps only its hash', async () => {
    const run = await runCli(['agent', 'users', 'add', '--state-dir', stateDir, '--name', 'dr-lee', '--role', 'clinician']);
    expect(run.code).toBe(0);
    const { apiKey, role } = JSON.parse(run.stdout) as { apiKey: string; role: string };
    expect(role).toBe('clinician');
    const users = new LocalUsers(stateDir);
    expect(await readFile(users.path, 'utf8')).not.toContain(apiKey);
    expect(await users.authenticate(apiKey)).toEqual({ userId: 'dr-lee', role: 'clinician', method: 'api-key' });
    const bad = await runCli(['agent', 'users', 'add', '--state-dir', stateDir, '--name', 'x', '--role', 'training']);
    expect(bad.stderr).toContain('QUERY_USER_INVALID');
  });
});
