import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeVector, parameterCount, type JobSpec } from '@medfed/proto';
import { FederationClient, UpdateHeader } from '@medfed/proto';
import * as grpc from '@grpc/grpc-js';
import { identityPaths, loadAgentIdentity, rotateAgentKey } from '@medfed/node-agent/identity/index';
import { versionNegotiation } from '@medfed/node-agent/transport/version-negotiation';
import type { AuthDecision } from '@medfed/coordinator/auth/index';
import { enrollNode, grpcMethodHtu, grpcUnary, proofFor, type EnrolledNode } from '../../coordinator/test/auth/support.js';
import { runCli } from '../support/cli.js';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';
import { codeOf } from '../support/error-code.js';

const spec = (sites: string[]): JobSpec => ({
  name: 'auth', features: ['f1', 'f2', 'f3'], label: 'y', classes: ['no', 'yes'], model: { hidden: [], activation: 'relu' },
  training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 7 },
  rounds: 1, minSites: 1, roundDeadlineSeconds: 60, strategy: { name: 'fedavg' }, sites, standardization: 'none',
});

describe('a node\'s identity over its life: enrollment, tokens, renewal, rotation, re-enrollment, suspension', () => {
  let t: TestCoordinator;
  const decisions: AuthDecision[] = [];
  const nodes: EnrolledNode[] = [];

  beforeAll(async () => {
    // Short node tokens so that renewal and stream grace are visible within seconds.
    t = await startTestCoordinator('pglite', { 'auth.allowAnonymousNodes': false, 'auth.nodeTokenSeconds': 2, 'auth.streamGraceSeconds': 2 },
      { onDecision: (d) => decisions.push(d) });
    for (const s of ['site-a', 'site-b', 'site-c', 'site-d']) await t.coordinator.engine.registerSite(s, s);
  });
  afterAll(async () => {
    for (const n of nodes) n.client.close();
    await t.stop();
  });

  it('medfed agent enroll generates the key on the host (0600), registers it, and the code works once', async () => {
    const { code } = await t.coordinator.auth.createEnrollmentCode('site-a', 'test');
    const stateDir = join(t.dataDir, 'agent-a');
    const args = ['agent', 'enroll', '--coordinator', t.coordinator.grpc, '--site', 'site-a', '--state-dir', stateDir];
    const run = await runCli(args, { env: { MEDFED_ENROLLMENT_CODE: code } });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { site: string; keyThumbprint: string };
    expect(out.site).toBe('site-a');
    const paths = identityPaths(stateDir);
    expect((await stat(paths.key)).mode & 0o777).toBe(0o600);
    expect((await stat(paths.dir)).mode & 0o777).toBe(0o700);
    expect(await readFile(paths.key, 'utf8')).toContain('BEGIN PRIVATE KEY');
    const { key } = await loadAgentIdentity(stateDir);
    expect(key.jkt).toBe(out.keyThumbprint);
    const { rows } = await t.coordinator.db.query<{ jkt: string; public_jwk: Record<string, unknown> }>(
      `SELECT jkt, public_jwk FROM auth_site_keys WHERE site_id = 'site-a' AND status = 'active'`);
    expect(rows.map((r) => r.jkt)).toEqual([key.jkt]);
    expect(rows[0]!.public_jwk).not.toHaveProperty('d'); // only the public key reached the coordinator
    const { rows: codes } = await t.coordinator.db.query<{ code_hash: string }>(`SELECT code_hash FROM auth_enrollment_codes WHERE site_id = 'site-a'`);
    expect(codes[0]!.code_hash).toBe(createHash('sha256').update(code.replace(/-/g, '')).digest('hex')); // stored hashed
    expect(JSON.stringify(codes)).not.toContain(code.slice(0, 9));

    const again = await runCli([...args, '--code', code]);
    expect(again.code).toBe(6); // ExitCode.AUTH
    expect(again.stderr).toMatch(/AUTH_ENROLLMENT_CODE_USED/);
  });

  it('renews short-lived tokens on its own, without interrupting calls', async () => {
    const a = await enrollNode(t.coordinator, 'site-b');
    nodes.push(a);
    const before = decisions.filter((d) => d.rule === 'node.token').length;
    const started = Date.now();
    let calls = 0;
    while (Date.now() - started < 5000) {
      expect((await a.client.pollTask('site-b', 0)).task).toBeUndefined();
      calls++;
      await new Promise((r) => setTimeout(r, 250));
    }
    const issued = decisions.filter((d) => d.rule === 'node.token').length - before;
    expect(calls).toBeGreaterThan(10);
    expect(issued).toBeGreaterThanOrEqual(2); // 2 s tokens over 5 s: renewed, every call still succeeded
    expect(issued).toBeLessThan(calls); // not one token per call
  });

  it('lets a stream outlive its token within the grace, and ends one that goes beyond it', async () => {
    const a = await enrollNode(t.coordinator, 'site-c');
    nodes.push(a);
    const job = await t.coordinator.engine.createJob(spec(['site-c']), 'tester');
    const task = (await a.client.pollTask('site-c', 1000)).task!;
    const P = parameterCount(3, [], 2);
    const payload = encodeVector(new Float32Array(P).fill(0.01));
    const sha256 = createHash('sha256').update(payload).digest('hex');
    const upload = async (holdMs: number, submissionId: string) => {
      const token = await a.token();
      const md = new grpc.Metadata();
      md.set('authorization', `DPoP ${token}`);
      md.set('dpop', proofFor(a.key, 'POST', grpcMethodHtu(t.coordinator, 'SubmitUpdate'), token));
      const client = new FederationClient(t.coordinator.grpc, grpc.credentials.createInsecure(), { interceptors: [versionNegotiation()] });
      return new Promise<string>((resolve) => {
        const call = client.submitUpdate(md, (err) => {
          client.close();
          resolve(err ? String(err.metadata.get('medfed-code')[0]) : 'OK');
        });
        call.write({ part: { $case: 'header', value: UpdateHeader.fromPartial({ siteId: 'site-c', jobId: job.id, round: 1, submissionId, numSamples: 5, byteSize: payload.byteLength, sha256, baseModelId: task.modelId }) } });
        setTimeout(() => {
          call.write({ part: { $case: 'data', value: payload } });
          call.end();
        }, holdMs);
      });
    };
    // Token life 2 s + grace 2 s: a stream held 6 s is ended; one held 3 s (past its token, inside the grace) completes.
    expect(await upload(6000, 'late')).toBe('AUTH_STREAM_EXPIRED');
    expect(await upload(3000, 'in-grace')).toBe('OK');
  }, 120_000);

  it('rotates its key: the old key\'s tokens stop at once, the new key works', async () => {
    const a = await enrollNode(t.coordinator, 'site-d');
    nodes.push(a);
    const oldToken = await a.token();
    const oldKey = a.key;
    const next = await rotateAgentKey(a.client.credentials!, a.identity, a.stateDir, (req, md) => a.client.rotateKey(req, md));
    expect(next.keyThumbprint).not.toBe(oldKey.jkt);
    expect((await stat(identityPaths(a.stateDir).key)).mode & 0o777).toBe(0o600);
    expect((await loadAgentIdentity(a.stateDir)).key.jkt).toBe(next.keyThumbprint);
    const old = await grpcUnary(t.coordinator, 'pollTask', { siteId: 'site-d', waitMs: 0 }, {
      authorization: `DPoP ${oldToken}`, dpop: proofFor(oldKey, 'POST', grpcMethodHtu(t.coordinator, 'PollTask'), oldToken),
    });
    expect(old.code).toBe('AUTH_KEY_REVOKED');
    expect(await codeOf(a.client.pollTask('site-d', 0))).toBe('OK'); // the client moved to the new key
    const { rows } = await t.coordinator.db.query<{ status: string; source: string }>(`SELECT status, source FROM auth_site_keys WHERE site_id = 'site-d' ORDER BY created_at`);
    expect(rows.map((r) => `${r.source}:${r.status}`)).toEqual(['enrollment:retired', 'rotation:active']);
  });

  it('re-enrolls with a new code: the previous key is cut off', async () => {
    const first = await enrollNode(t.coordinator, 'site-a');
    nodes.push(first);
    expect(await codeOf(first.client.pollTask('site-a', 0))).toBe('OK');
    const heldToken = await first.token();
    const second = await enrollNode(t.coordinator, 'site-a');
    nodes.push(second);
    // The token the old agent holds is refused, and it cannot get a new one with its old key.
    const held = await grpcUnary(t.coordinator, 'pollTask', { siteId: 'site-a', waitMs: 0 }, {
      authorization: `DPoP ${heldToken}`, dpop: proofFor(first.key, 'POST', grpcMethodHtu(t.coordinator, 'PollTask'), heldToken),
    });
    expect(held.code).toBe('AUTH_KEY_REVOKED');
    first.client.credentials!.invalidate();
    expect(await codeOf(first.client.pollTask('site-a', 0))).toBe('AUTH_ASSERTION_INVALID');
    expect(await codeOf(second.client.pollTask('site-a', 0))).toBe('OK');
  });

  it('suspends a site: all its credentials stop at once, and come back when reinstated', async () => {
    const b = nodes[0]!;
    expect(await codeOf(b.client.pollTask('site-b', 0))).toBe('OK');
    await t.coordinator.auth.setSiteSuspended('site-b', true);
    expect(await codeOf(b.client.pollTask('site-b', 0))).toBe('AUTH_SITE_SUSPENDED'); // the token it already holds
    b.client.credentials!.invalidate();
    expect(await codeOf(b.client.pollTask('site-b', 0))).toBe('AUTH_SITE_SUSPENDED'); // and no new token either
    await t.coordinator.auth.setSiteSuspended('site-b', false);
    expect(await codeOf(b.client.pollTask('site-b', 0))).toBe('OK');
  });

  it('revokes a site for good: its tokens stop, no new token, no reinstatement, no re-enrollment', async () => {
    const c = nodes[1]!;
    expect(await codeOf(c.client.pollTask('site-c', 0))).toBe('OK');
    const revoked = await t.coordinator.auth.revokeSite('site-c', 'key:test-admin', 'hospital left the consortium');
    expect(revoked.alreadyRevoked).toBe(false);
    expect(await codeOf(c.client.pollTask('site-c', 0))).toBe('AUTH_SITE_REVOKED'); // the token it already holds
    c.client.credentials!.invalidate();
    expect(await codeOf(c.client.pollTask('site-c', 0))).not.toBe('OK'); // its key retired: no new token
    await expect(t.coordinator.auth.setSiteSuspended('site-c', false)).rejects.toMatchObject({ code: 'AUTH_SITE_REVOKED' });
    await expect(t.coordinator.auth.createEnrollmentCode('site-c', 'test')).rejects.toMatchObject({ code: 'AUTH_SITE_REVOKED' });
    expect((await t.coordinator.auth.revokeSite('site-c', 'key:test-admin', 'again')).alreadyRevoked).toBe(true);
    const { rows } = await t.coordinator.db.query<{ status: string; revoked_by: string; revoke_reason: string }>(
      `SELECT status, revoked_by, revoke_reason FROM sites WHERE id = 'site-c'`);
    expect(rows[0]).toEqual({ status: 'revoked', revoked_by: 'key:test-admin', revoke_reason: 'hospital left the consortium' });
  });
});
