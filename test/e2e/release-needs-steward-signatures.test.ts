import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { encodeEncryptedVector, encryptUpdate, parameterCount, TaskKind, type JobSpec, type PinnedSite, type Task } from '@medfed/proto';
import { generateAttestationKey, publicAttestationJwk, type AttestationPrivateJwk } from '@medfed/proto/attestation/index';
import { signReleaseStatement } from '@medfed/proto/release/index';
import { CoordinatorClient } from '@medfed/node-agent/transport/client';
import { ensureSiteKeys, pinsOf, type SiteKeys } from '@medfed/node-agent/custody/site-keys';
import { loadPinnedSites, pinnedSitesPath } from '@medfed/node-agent/custody/pinned-sites';
import { JobKeyStore } from '@medfed/node-agent/custody/job-key-store';
import { consortiumOf } from '@medfed/node-agent/governance/consortium';
import type { ReleaseApprovalTrust } from '@medfed/node-agent/governance/release-approvals';
import { runKeyTask, type KeyTask } from '@medfed/node-agent/tasks/key-task';
import { taskEncryption } from '@medfed/node-agent/tasks/encryption-context';
import { runReleaseTask, type ReleaseContext } from '@medfed/node-agent/tasks/release-task';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';
import { runCli } from '../support/cli.js';
import { generateApprovalKey, signedReleaseApproval, stewardKeyOf, type ReleaseShown } from '../support/steward-approval.js';

/**
 * A model release needs the hospitals' own signatures, and the agents check them (docs/releases.md).
 * Whoever runs the coordinator can mint `site-steward` API keys for every site and can write its
 * database; neither yields a plaintext model: the coordinator refuses a steward approval without the
 * site's signature, and an agent told that a release was approved verifies a majority of the job's
 * stewards' signatures against the keys it pinned before it decrypts or countersigns anything.
 * Real coordinator on PostgreSQL, the agents' release step over gRPC, the real `medfed` command.
 */
const SITES = ['site-a', 'site-b', 'site-c'];
const P = parameterCount(4, [3], 2);
const silent = pino({ level: 'silent' });

interface Answer { status: number; body: Record<string, any> }

describe('a release needs a majority of the hospitals\' steward signatures, verified by the agents (real coordinator, gRPC, PostgreSQL)', () => {
  let t: TestCoordinator;
  let root: string;
  let jobId: string;
  let spec: JobSpec;
  const clients = new Map<string, CoordinatorClient>();
  const keys = new Map<string, SiteKeys>();
  const attestationKeys = new Map<string, AttestationPrivateJwk>();
  const tokens: Record<string, string> = {};
  const stateDir = (site: string) => join(root, site, 'state');

  async function api(who: string, method: string, path: string, body?: unknown): Promise<Answer> {
    const res = await fetch(`${t.coordinator.rest}${path}`, {
      method, headers: { authorization: `Bearer ${tokens[who]}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: await res.json() as Record<string, any> };
  }

  /** An API key minted by the admin, exchanged for a token: anything the coordinator's operator can hand out. */
  async function personToken(name: string, role: string, site?: string): Promise<string> {
    const created = await api('admin', 'POST', '/v1/admin/api-keys', { name, role, ...(site ? { site } : {}), expiresInDays: 1 });
    expect(created.status).toBe(201);
    const res = await fetch(`${t.coordinator.rest}/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: created.body.apiKey }) });
    return (await res.json() as { access_token: string }).access_token;
  }

  /** What the agent verifies approvals with, read the way the agent reads it (agent.ts): its consortium and its pins file. */
  async function approvalTrust(site: string): Promise<ReleaseApprovalTrust> {
    return {
      consortium: await consortiumOf({ stateDir: stateDir(site) }),
      stewardKeys: await loadPinnedSites(pinnedSitesPath(stateDir(site)), { self: pinsOf(site, keys.get(site)!), optional: true }),
    };
  }

  async function context(site: string, task: Task): Promise<ReleaseContext> {
    const client = clients.get(site)!;
    return {
      client, siteId: site, task, spec, log: silent, stateDir: stateDir(site), keyStore: new JobKeyStore(stateDir(site), site, keys.get(site)!),
      fetchWrappedKey: async (job) => {
        const k = await client.fetchJobKey(site, job);
        return { epoch: k.epoch, paramSet: k.paramSet, keyId: k.keyId, jwe: k.wrappedKey };
      },
      signStatement: (claims) => signReleaseStatement(claims, attestationKeys.get(site)!),
      approvalTrust: await approvalTrust(site),
    };
  }

  async function releaseTask(site: string): Promise<Task | undefined> {
    const task = (await clients.get(site)!.pollTask(site, 100)).task;
    return task?.kind === TaskKind.TASK_KIND_RELEASE ? task : undefined;
  }

  /** The release step as the agent runs it; its error code on a refusal. */
  async function agentStep(site: string, task: Task): Promise<{ outcome?: string; code?: string; message?: string }> {
    try {
      return { outcome: await runReleaseTask(await context(site, task)) };
    } catch (err) {
      return { code: (err as { code?: string }).code, message: (err as Error).message };
    }
  }

  beforeAll(async () => {
    t = await startTestCoordinator('postgres');
    root = await mkdtemp(join(tmpdir(), 'medfed-release-signatures-'));
    tokens.admin = t.coordinator.adminToken;
    for (const id of SITES) {
      await t.coordinator.engine.registerSite(id, id);
      keys.set(id, await ensureSiteKeys(stateDir(id)));
      attestationKeys.set(id, generateAttestationKey());
      clients.set(id, new CoordinatorClient(t.coordinator.grpc));
      await clients.get(id)!.enroll(id, 'test', 'test', keys.get(id)!.keyAgreement.publicJwk, publicAttestationJwk(attestationKeys.get(id)!));
    }
    // Every site pins every site's steward and key-agreement keys (as a roster import would), in its own pins file.
    const pins = SITES.map((id) => pinsOf(id, keys.get(id)!));
    for (const id of SITES) await writeFile(pinnedSitesPath(stateDir(id)), JSON.stringify({ sites: pins }), { mode: 0o600 });
    tokens.researcher = await personToken('researcher', 'researcher');
    tokens.auditor = await personToken('compliance', 'auditor');

    spec = {
      name: 'release-signatures', features: ['a', 'b', 'c', 'd'], label: 'y', classes: ['n', 'y'], model: { hidden: [3], activation: 'relu' },
      training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 3 }, rounds: 1, minSites: 3,
      roundDeadlineSeconds: 120, strategy: { name: 'fedavg' }, sites: SITES, standardization: 'none',
      encryption: { enabled: true, paramSet: 'bfv-n4096-q60-t48-2x23', clipNorm: 1, fracBits: 0 },
    };
    jobId = (await t.coordinator.engine.createJob(spec, 'tester')).id;
    const pinned = new Map<string, PinnedSite>(pins.map((p) => [p.siteId, { stewardKeyThumbprint: p.stewardKeyThumbprint, keyAgreementKeyThumbprint: p.keyAgreementKeyThumbprint }]));
    // The key ceremony (each steward signs the site list with its steward key), then one round of encrypted updates.
    const tasks = new Map<string, Task>();
    for (const deadline = Date.now() + 120_000; tasks.size < SITES.length && Date.now() < deadline;) {
      for (const id of SITES) {
        if (tasks.has(id)) continue;
        const task = (await clients.get(id)!.pollTask(id, 100)).task;
        if (!task) continue;
        if (task.keyTaskJson) {
          const client = clients.get(id)!;
          await runKeyTask(jobId, JSON.parse(task.keyTaskJson) as KeyTask, {
            siteId: id, keys: keys.get(id)!, pinned, autoApprove: true, log: silent,
            submitSignature: async (jws) => { await client.submitSiteListSignature(id, jobId, jws); },
            submitKeyMaterial: async (pp, w) => { await client.submitKeyMaterial(id, jobId, pp, w); },
          });
        } else if (task.round === 1) {
          tasks.set(id, task);
        }
      }
    }
    expect(tasks.size).toBe(3);
    for (const [i, id] of SITES.entries()) {
      const task = tasks.get(id)!;
      const enc = taskEncryption(task)!;
      const ctx = await context(id, task);
      const { ctx: he, key } = await ctx.keyStore.get(jobId, enc.settings.epoch, enc.settings.paramSet, enc.settings.keyId, () => ctx.fetchWrappedKey(jobId));
      const update = Float32Array.from({ length: P }, (_, j) => Math.sin(j * (i + 1)) / 40);
      const payload = encodeEncryptedVector(encryptUpdate(he, key, update, {
        weight: enc.settings.weight, clip: enc.settings.clipNorm, fracBits: enc.settings.fracBits, maxSites: enc.settings.maxSites }));
      await clients.get(id)!.submitUpdate({ siteId: id, jobId, round: 1, submissionId: `s-${id}`, numSamples: 10, baseModelId: task.modelId, attestation: '' }, payload);
    }
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      const { rows } = await t.coordinator.db.query("SELECT 1 FROM models WHERE job_id = $1 AND round = 1 AND kind = 'update-sum'", [jobId]);
      if (rows.length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 360_000);

  afterAll(async () => {
    for (const c of clients.values()) c.close();
    await t?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  let attacked: ReleaseShown & { decryptingSite: string; countersigningSite: string };

  it('refuses the steward approvals an admin makes with site-steward keys it minted: without a signature, or signed with a key of its own; no site is asked to decrypt', async () => {
    const requested = await api('researcher', 'POST', `/v1/jobs/${jobId}/releases`, { round: 1, reason: 'publish the model' });
    expect(requested.status).toBe(201);
    attacked = requested.body as typeof attacked;
    for (const site of SITES) {
      tokens[`minted-${site}`] = await personToken(`minted-steward-${site}`, 'site-steward', site);
      const unsigned = await api(`minted-${site}`, 'POST', `/v1/releases/${attacked.id}/approvals`, {});
      expect([site, unsigned.status, unsigned.body.code]).toEqual([site, 400, 'RELEASE_APPROVAL_SIGNATURE_REQUIRED']);
      const ownKey = await api(`minted-${site}`, 'POST', `/v1/releases/${attacked.id}/approvals`, { approval: signedReleaseApproval(attacked, site, generateApprovalKey()) });
      expect([site, ownKey.status, ownKey.body.code]).toEqual([site, 403, 'STEWARD_APPROVAL_SIGNATURE_INVALID']);
    }
    expect((await api('auditor', 'POST', `/v1/releases/${attacked.id}/approvals`, {})).status).toBe(200);
    const shown = (await api('admin', 'GET', `/v1/releases/${attacked.id}`)).body;
    expect(shown).toMatchObject({ state: 'requested', sitesApproved: [], complianceApprovals: 1, quorumReached: false });
    for (const site of SITES) expect(await releaseTask(site)).toBeUndefined();
  });

  it('refuses at the agents a release an admin approved in the database (rows without signatures, then forged or replayed ones): APPROVAL_QUORUM_NOT_MET, nothing decrypted or uploaded', async () => {
    const { decryptingSite: first, countersigningSite: second } = attacked;
    // The attacker writes the approvals and the state the quorum would have produced.
    for (const site of SITES) {
      await t.coordinator.db.query(`INSERT INTO release_approvals (release_id, capacity, approver, role, site_id) VALUES ($1, $2, $3, 'site-steward', $4)`,
        [attacked.id, `site:${site}`, `key:minted-${site}`, site]);
    }
    await t.coordinator.db.query(`UPDATE releases SET state = 'approved', step_deadline = now() + interval '10 minutes' WHERE id = $1`, [attacked.id]);

    const unsignedTask = await releaseTask(first);
    expect(JSON.parse(unsignedTask!.releaseJson)).toMatchObject({ release: attacked.id, step: 'decrypt', approvals: [] });
    const unsigned = await agentStep(first, unsignedTask!);
    expect(unsigned.code).toBe('APPROVAL_QUORUM_NOT_MET');
    expect(unsigned.message).toContain('stewards: 0 of 2 needed');

    // Signatures made with keys of the attacker's own, and a genuine signature of site-a replayed from another release.
    const genuineElsewhere = signedReleaseApproval({ ...attacked, id: 'rel-another-release' }, 'site-a', stewardKeyOf(keys.get('site-a')!));
    const forged = [genuineElsewhere, signedReleaseApproval(attacked, 'site-b', generateApprovalKey()), signedReleaseApproval(attacked, 'site-c', generateApprovalKey())];
    for (const [i, site] of SITES.entries()) {
      await t.coordinator.db.query('UPDATE release_approvals SET approval = $3 WHERE release_id = $1 AND capacity = $2', [attacked.id, `site:${site}`, forged[i]]);
    }
    const forgedTask = await releaseTask(first);
    expect((JSON.parse(forgedTask!.releaseJson) as { approvals: string[] }).approvals.sort()).toEqual([...forged].sort());
    const refused = await agentStep(first, forgedTask!);
    expect(refused.code).toBe('APPROVAL_QUORUM_NOT_MET');
    expect(refused.message).toContain('steward site-a (STEWARD_APPROVAL_MISMATCH)');
    expect(refused.message).toContain('steward site-b (STEWARD_APPROVAL_SIGNATURE_INVALID)');
    expect(refused.message).toContain('steward site-c (STEWARD_APPROVAL_SIGNATURE_INVALID)');
    expect((await api('admin', 'GET', `/v1/releases/${attacked.id}`)).body).toMatchObject({ state: 'approved', sha256: null, statements: { decrypt: null } });

    // Nor does the countersigning site sign a digest for a release the database says was decrypted.
    await t.coordinator.db.query(`UPDATE releases SET state = 'decrypted', plaintext_sha256 = $2 WHERE id = $1`, [attacked.id, 'ef'.repeat(32)]);
    const reproduce = await releaseTask(second);
    expect(JSON.parse(reproduce!.releaseJson)).toMatchObject({ release: attacked.id, step: 'reproduce' });
    expect((await agentStep(second, reproduce!)).code).toBe('APPROVAL_QUORUM_NOT_MET');

    const row = (await t.coordinator.db.query<{ state: string; decrypt_statement: string | null; reproduce_statement: string | null; released_model_id: string | null }>(
      'SELECT state, decrypt_statement, reproduce_statement, released_model_id FROM releases WHERE id = $1', [attacked.id])).rows[0]!;
    expect(row).toEqual({ state: 'decrypted', decrypt_statement: null, reproduce_statement: null, released_model_id: null });
    expect((await t.coordinator.blobs.list()).filter((k) => k.includes(attacked.id))).toEqual([]);
    const { rows: steps } = await t.coordinator.db.query(
      "SELECT 1 FROM audit_events WHERE action IN ('release.decrypt', 'release.countersign', 'model.release') AND event::jsonb ->> 'resource' = $1", [`job:${jobId}/release:${attacked.id}`]);
    expect(steps).toEqual([]);
    const { rows: released } = await t.coordinator.db.query("SELECT 1 FROM models WHERE job_id = $1 AND kind = 'released'", [jobId]);
    expect(released).toEqual([]);
  }, 120_000);

  it('releases once a majority of the stewards signed with their sites\' keys (medfed agent approve-release, online and with --out) and compliance approved', async () => {
    expect((await api('admin', 'POST', `/v1/releases/${attacked.id}/cancel`, { reason: 'approved in the database, not by the stewards' })).body.state).toBe('cancelled');
    const requested = await api('researcher', 'POST', `/v1/jobs/${jobId}/releases`, { round: 1, reason: 'publish the model, approved this time' });
    expect(requested.status).toBe(201);
    const release = requested.body as ReleaseShown & { decryptingSite: string; countersigningSite: string };
    const configOf = async (site: string) => {
      const file = join(root, site, 'agent.json');
      await writeFile(file, JSON.stringify({
        siteId: site, coordinator: { grpc: t.coordinator.grpc }, data: { csv: join(root, site, 'data.csv'), label: 'y' }, stateDir: stateDir(site),
      }));
      return file;
    };
    const connection = (site: string) => ['--coordinator', t.coordinator.rest, '--token', tokens[`minted-${site}`]!];

    // site-a's steward signs and sends in one step.
    const online = await runCli(['agent', 'approve-release', '--config', await configOf('site-a'), '--release', release.id, '--json', ...connection('site-a')]);
    expect([online.code, online.stderr]).toEqual([0, '']);
    expect(JSON.parse(online.stdout)).toMatchObject({
      release: release.id, job: jobId, round: 1, inputSha256: release.inputSha256, signer: 'site-a', consortium: 'default', key: keys.get('site-a')!.steward.thumbprint, posted: true, state: 'requested',
    });
    // site-b's steward signs without any network and hands the file to someone who sends it.
    const file = join(root, 'site-b', 'approval.jws');
    const offline = await runCli(['agent', 'approve-release', '--config', await configOf('site-b'), '--release', release.id,
      '--job', jobId, '--round', '1', '--input-sha256', release.inputSha256, '--out', file, '--coordinator', 'http://127.0.0.1:9']);
    expect([offline.code, offline.stdout]).toEqual([0, expect.stringContaining(`input SHA-256 ${release.inputSha256.slice(0, 16)}`)]);
    const sent = await runCli(['model', 'release', 'approve', release.id, '--approval', file, ...connection('site-b')]);
    expect([sent.code, sent.stdout]).toEqual([0, expect.stringContaining(`site:site-b by`)]);
    expect((await api('auditor', 'POST', `/v1/releases/${release.id}/approvals`, {})).body).toMatchObject({ state: 'approved', sitesApproved: ['site-a', 'site-b'] });

    const decrypt = await releaseTask(release.decryptingSite);
    expect((JSON.parse(decrypt!.releaseJson) as { approvals: string[] }).approvals).toHaveLength(2);
    expect(await agentStep(release.decryptingSite, decrypt!)).toEqual({ outcome: 'decrypted' });
    expect(await agentStep(release.countersigningSite, (await releaseTask(release.countersigningSite))!)).toEqual({ outcome: 'released' });
    expect((await api('researcher', 'GET', `/v1/releases/${release.id}`)).body).toMatchObject({ state: 'released', modelId: expect.any(String) });
  }, 120_000);
});
