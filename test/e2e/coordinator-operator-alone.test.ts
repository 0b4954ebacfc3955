import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { encodeEncryptedVector, encryptUpdate, parameterCount, TaskKind, type JobSpec, type PinnedSite, type Task } from '@medfed/proto';
import { generateAttestationKey, publicAttestationJwk, type AttestationPrivateJwk } from '@medfed/proto/attestation/index';
import { PERSON_ROLES, SITE_BOUND_ROLES } from '@medfed/proto/auth/index';
import { ed25519Thumbprint, rosterDigest, type Roster } from '@medfed/proto/governance/index';
import { signReleaseStatement } from '@medfed/proto/release/index';
import { loadCoordinatorConfig, startCoordinator, type RunningCoordinator } from '@medfed/coordinator';
import { appendAuditEvent } from '@medfed/coordinator/audit/store/append';
import { POLICY } from '@medfed/coordinator/auth/policy/policy';
import { siteApprovalEvent } from '@medfed/coordinator/federation/site-approval';
import type { Db } from '@medfed/coordinator/storage/db';
import { openPostgres } from '@medfed/coordinator/storage/postgres';
import { AGENT_VERSION, NodeAgent } from '@medfed/node-agent/agent';
import { ApprovalStore, jobSpecDigest } from '@medfed/node-agent/approvals/index';
import { loadAgentConfig } from '@medfed/node-agent/config/load';
import { CoordinatorClient } from '@medfed/node-agent/transport/client';
import { pinsOf, type SiteKeys } from '@medfed/node-agent/custody/site-keys';
import { loadPinnedSites, pinnedSitesPath } from '@medfed/node-agent/custody/pinned-sites';
import { importRoster } from '@medfed/node-agent/custody/roster-import';
import { rosterSiteFromIdentity } from '@medfed/node-agent/custody/roster';
import { JobKeyStore } from '@medfed/node-agent/custody/job-key-store';
import { consortiumOf } from '@medfed/node-agent/governance/consortium';
import type { ReleaseApprovalTrust } from '@medfed/node-agent/governance/release-approvals';
import { channelCredentials, enrollAgent, loadAgentIdentity } from '@medfed/node-agent/identity/index';
import { runKeyTask, type KeyTask } from '@medfed/node-agent/tasks/key-task';
import { taskEncryption } from '@medfed/node-agent/tasks/encryption-context';
import { runReleaseTask, type ReleaseContext } from '@medfed/node-agent/tasks/release-task';
import { TEST_PG_URL } from '../../coordinator/test/support/databases.js';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';
import { runCli } from '../support/cli.js';
import { auditorPurgeApproval, consortiumSites, purgeApproval, ruleApproval, signedRoster, type ConsortiumSite } from '../support/consortium.js';
import { generateApprovalKey, signedReleaseApproval, stewardKeyOf, type ReleaseShown } from '../support/steward-approval.js';

/**
 * The coordinator's operator alone cannot act for the hospitals. The attacker holds everything the
 * coordinator can give (`operatorPowers` below: the bootstrap admin key, API keys it mints for every
 * role the policy grants, node credentials for any site) and controls the coordinator's database
 * (a connection of its own) and its configuration (another coordinator process on the same
 * database). It holds nothing of a hospital's: no steward key, no agent state directory. With that
 * it tries to release a model, approve a job for a site and purge audit entries inside retention;
 * each attempt below is refused, by the agents or for want of signatures only the stewards' keys make.
 * One is not refused by the coordinator: emptying the roster table and installing a roster of the
 * operator's own keys, which it cannot tell from a first install, then purging inside retention with
 * approvals those keys signed. A verifier who pinned the stewards' roster refuses the exported trail
 * (`medfed audit verify --roster`, AUDIT_PURGE_NOT_APPROVED; docs/governance.md, Limits).
 *
 * One consortium for the whole file: three sites whose stewards signed a roster that every site's
 * agent imported; the same steward keys sign releases and purges. Real coordinator on PostgreSQL,
 * the agents' release step over gRPC, site-a's real agent (NodeAgent: its task loop and approval
 * gate) for the job, and the real `medfed` command.
 */
const CONSORTIUM = 'rare-net';
const SITES = ['site-a', 'site-b', 'site-c'];
const P = parameterCount(4, [3], 2);
const silent = pino({ level: 'silent' });

interface Answer { status: number; body: Record<string, any> }

/** What the coordinator's operator holds, and all it holds. */
interface Operator {
  /** Bearer tokens: `bootstrap` (the bootstrap admin key), then one minted API key per role (`role`, or `role:site` for site-bound roles). */
  readonly tokens: Readonly<Record<string, string>>;
  /** The coordinator's database, through a connection of the operator's own: raw SQL, no coordinator in between. */
  readonly db: Db;
  /** Node credentials for `site`, from an enrollment code minted with `token` (a site's agent identity, as far as the coordinator can tell). */
  enrollNode(site: string, token: string, stateDir: string): Promise<CoordinatorClient>;
  /** Another coordinator process on the same database, configured by the operator; it first takes the leader lease away in the database. */
  startCoordinator(overrides: Record<string, unknown>): Promise<RunningCoordinator>;
  close(): Promise<void>;
}

/** Every role the authorization policy grants anything to. */
function policyRoles(): string[] {
  return [...new Set(POLICY.entries.flatMap((e) => (e.access === 'public' ? [] : e.access.map((g) => g.role))))].sort();
}

async function operatorPowers(t: TestCoordinator, sites: readonly string[], scratch: string): Promise<Operator> {
  const rest = t.coordinator.rest;
  const tokens: Record<string, string> = { bootstrap: t.coordinator.adminToken };
  for (const role of PERSON_ROLES) {
    for (const site of SITE_BOUND_ROLES.includes(role) ? sites : [undefined]) {
      const created = await fetch(`${rest}/v1/admin/api-keys`, {
        method: 'POST', headers: { authorization: `Bearer ${tokens.bootstrap}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `operator-${role}${site ? `-${site}` : ''}`, role, ...(site ? { site } : {}), expiresInDays: 1 }),
      });
      expect([role, site, created.status]).toEqual([role, site, 201]);
      const { apiKey } = await created.json() as { apiKey: string };
      const token = await fetch(`${rest}/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: apiKey }) });
      tokens[site ? `${role}:${site}` : role] = (await token.json() as { access_token: string }).access_token;
    }
  }
  const { rows } = await t.coordinator.db.query<{ name: string }>('SELECT current_database() AS name');
  const url = new URL(TEST_PG_URL);
  url.pathname = `/${rows[0]!.name}`;
  const databaseUrl = url.toString();
  const db = openPostgres(databaseUrl, { max: 2 });
  return {
    tokens, db,
    async enrollNode(site, token, stateDir) {
      const res = await fetch(`${rest}/v1/sites/${site}/enrollment-codes`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}',
      });
      expect(res.status).toBe(201);
      const { enrollmentCode } = await res.json() as { enrollmentCode: string };
      await enrollAgent({ coordinator: t.coordinator.grpc, channelCredentials: channelCredentials(t.coordinator.grpc, undefined), siteId: site, code: enrollmentCode, stateDir, agentVersion: AGENT_VERSION });
      return new CoordinatorClient(t.coordinator.grpc, channelCredentials(t.coordinator.grpc, undefined), await loadAgentIdentity(stateDir));
    },
    async startCoordinator(overrides) {
      await db.query("UPDATE coordinator_lease SET holder = NULL, expires_at = '-infinity' WHERE name = 'leader'");
      const config = await loadCoordinatorConfig({
        env: {}, overrides: { 'rest.port': 0, 'grpc.port': 0, dataDir: await mkdtemp(join(scratch, 'operator-coordinator-')), databaseUrl, logLevel: 'silent', ...overrides },
      });
      return startCoordinator(config, silent);
    },
    close: () => db.close(),
  };
}

describe('the coordinator\'s operator, with every role it can mint, its database and its configuration, is refused a release, a job approval for a site and a purge inside retention (real coordinator, gRPC, PostgreSQL)', () => {
  let t: TestCoordinator;
  let op: Operator;
  let root: string;
  let jobId: string;
  let spec: JobSpec;
  let sites: Record<string, ConsortiumSite>;
  let roster: Roster;
  let agent: { stop(): Promise<void>; running: Promise<void> } | undefined;
  const clients = new Map<string, CoordinatorClient>();
  const attestationKeys = new Map<string, AttestationPrivateJwk>();
  const stateDir = (site: string) => join(root, site, 'state');
  const keysOf = (site: string): SiteKeys => sites[site]!.keys;

  async function api(who: string, method: string, path: string, body?: unknown): Promise<Answer> {
    const res = await fetch(`${t.coordinator.rest}${path}`, {
      method, headers: { authorization: `Bearer ${op.tokens[who]}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: await res.json() as Record<string, any> };
  }
  const count = async (sql: string, params: unknown[] = []) => Number((await op.db.query<{ n: string }>(sql, params)).rows[0]!.n);

  /** What the agent verifies approvals with, read the way the agent reads it (agent.ts): its consortium and its pins file. */
  async function approvalTrust(site: string): Promise<ReleaseApprovalTrust> {
    return {
      consortium: await consortiumOf({ stateDir: stateDir(site) }),
      stewardKeys: await loadPinnedSites(pinnedSitesPath(stateDir(site)), { self: pinsOf(site, keysOf(site)), optional: true }),
    };
  }

  async function context(site: string, task: Task): Promise<ReleaseContext> {
    const client = clients.get(site)!;
    return {
      client, siteId: site, task, spec, log: silent, stateDir: stateDir(site), keyStore: new JobKeyStore(stateDir(site), site, keysOf(site)),
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
    root = await mkdtemp(join(tmpdir(), 'medfed-operator-alone-'));
    for (const id of SITES) await t.coordinator.engine.registerSite(id, id);
    // The consortium: each site's steward key in its agent's state dir, a roster every steward signed, imported by every site.
    sites = await consortiumSites(root, CONSORTIUM, SITES);
    roster = await signedRoster(CONSORTIUM, SITES.map((id) => sites[id]!));
    const rosterFile = join(root, 'roster.json');
    await writeFile(rosterFile, JSON.stringify(roster));
    for (const id of SITES) {
      await importRoster(rosterFile, { stateDir: stateDir(id), pinnedSitesPath: pinnedSitesPath(stateDir(id)), self: await rosterSiteFromIdentity(sites[id]!.identity) });
      expect(await consortiumOf({ stateDir: stateDir(id) })).toBe(CONSORTIUM);
      await writeFile(join(root, id, 'data.csv'), `a,b,c,d,y\n${Array.from({ length: 24 }, (_, i) => `${i % 5},${i % 3},${i % 7},${i % 2},${i % 2 ? 'y' : 'n'}`).join('\n')}\n`);
      attestationKeys.set(id, generateAttestationKey());
      clients.set(id, new CoordinatorClient(t.coordinator.grpc));
      await clients.get(id)!.enroll(id, 'test', 'test', keysOf(id).keyAgreement.publicJwk, publicAttestationJwk(attestationKeys.get(id)!));
    }
    op = await operatorPowers(t, SITES, root);

    spec = {
      name: 'release-signatures', features: ['a', 'b', 'c', 'd'], label: 'y', classes: ['n', 'y'], model: { hidden: [3], activation: 'relu' },
      training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 3 }, rounds: 1, minSites: 3,
      roundDeadlineSeconds: 120, strategy: { name: 'fedavg' }, sites: SITES, standardization: 'none',
      encryption: { enabled: true, paramSet: 'bfv-n4096-q60-t48-2x23', clipNorm: 1, fracBits: 0 },
    };
    jobId = (await t.coordinator.engine.createJob(spec, 'tester')).id;
    const pinned = new Map<string, PinnedSite>(SITES.map((id) => {
      const p = pinsOf(id, keysOf(id));
      return [id, { stewardKeyThumbprint: p.stewardKeyThumbprint, keyAgreementKeyThumbprint: p.keyAgreementKeyThumbprint }];
    }));
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
            siteId: id, keys: keysOf(id), pinned, autoApprove: true, log: silent,
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
      if (await count("SELECT count(*) AS n FROM models WHERE job_id = $1 AND round = 1 AND kind = 'update-sum'", [jobId]) > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 360_000);

  afterAll(async () => {
    await agent?.stop();
    await agent?.running.catch(() => undefined);
    for (const c of clients.values()) c.close();
    await op?.close();
    await t?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('holds an API key of every role the policy grants (site-bound roles for each site), made by the bootstrap admin', () => {
    expect(policyRoles()).toEqual([...PERSON_ROLES, 'node'].sort());
    expect(Object.keys(op.tokens).sort()).toEqual([
      'admin', 'auditor', 'bootstrap', 'clinician:site-a', 'clinician:site-b', 'clinician:site-c', 'researcher',
      'site-steward:site-a', 'site-steward:site-b', 'site-steward:site-c',
    ]);
    // The node role is not an API key: the operator enrols node keys with enrollment codes it mints (the job approval case below).
  });

  describe('releasing a model', () => {
    let attacked: ReleaseShown & { decryptingSite: string; countersigningSite: string };

    it('refuses the steward approvals the operator makes with the site-steward keys it minted: without a signature, or signed with a key of its own; no site is asked to decrypt', async () => {
      const requested = await api('researcher', 'POST', `/v1/jobs/${jobId}/releases`, { round: 1, reason: 'publish the model' });
      expect(requested.status).toBe(201);
      attacked = requested.body as typeof attacked;
      for (const site of SITES) {
        const unsigned = await api(`site-steward:${site}`, 'POST', `/v1/releases/${attacked.id}/approvals`, {});
        expect([site, unsigned.status, unsigned.body.code]).toEqual([site, 400, 'RELEASE_APPROVAL_SIGNATURE_REQUIRED']);
        const ownKey = await api(`site-steward:${site}`, 'POST', `/v1/releases/${attacked.id}/approvals`, {
          approval: signedReleaseApproval(attacked, site, generateApprovalKey(), { consortium: CONSORTIUM }),
        });
        expect([site, ownKey.status, ownKey.body.code]).toEqual([site, 403, 'STEWARD_APPROVAL_SIGNATURE_INVALID']);
      }
      expect((await api('auditor', 'POST', `/v1/releases/${attacked.id}/approvals`, {})).status).toBe(200);
      const shown = (await api('bootstrap', 'GET', `/v1/releases/${attacked.id}`)).body;
      expect(shown).toMatchObject({ state: 'requested', sitesApproved: [], complianceApprovals: 1, quorumReached: false });
      for (const site of SITES) expect(await releaseTask(site)).toBeUndefined();
    });

    it('refuses at the agents a release the operator approved in the database (rows without signatures, then forged or replayed ones): APPROVAL_QUORUM_NOT_MET, nothing decrypted or uploaded', async () => {
      const { decryptingSite: first, countersigningSite: second } = attacked;
      // The operator writes the approvals and the state the quorum would have produced.
      for (const site of SITES) {
        await op.db.query(`INSERT INTO release_approvals (release_id, capacity, approver, role, site_id) VALUES ($1, $2, $3, 'site-steward', $4)`,
          [attacked.id, `site:${site}`, `key:operator-site-steward-${site}`, site]);
      }
      await op.db.query(`UPDATE releases SET state = 'approved', step_deadline = now() + interval '10 minutes' WHERE id = $1`, [attacked.id]);

      const unsignedTask = await releaseTask(first);
      expect(JSON.parse(unsignedTask!.releaseJson)).toMatchObject({ release: attacked.id, step: 'decrypt', approvals: [] });
      const unsigned = await agentStep(first, unsignedTask!);
      expect(unsigned.code).toBe('APPROVAL_QUORUM_NOT_MET');
      expect(unsigned.message).toContain('stewards: 0 of 2 needed');

      // Signatures made with keys of the operator's own, and a genuine signature of site-a replayed from another release.
      const genuineElsewhere = signedReleaseApproval({ ...attacked, id: 'rel-another-release' }, 'site-a', stewardKeyOf(keysOf('site-a')), { consortium: CONSORTIUM });
      const forged = [genuineElsewhere, ...['site-b', 'site-c'].map((site) => signedReleaseApproval(attacked, site, generateApprovalKey(), { consortium: CONSORTIUM }))];
      for (const [i, site] of SITES.entries()) {
        await op.db.query('UPDATE release_approvals SET approval = $3 WHERE release_id = $1 AND capacity = $2', [attacked.id, `site:${site}`, forged[i]]);
      }
      const forgedTask = await releaseTask(first);
      expect((JSON.parse(forgedTask!.releaseJson) as { approvals: string[] }).approvals.sort()).toEqual([...forged].sort());
      const refused = await agentStep(first, forgedTask!);
      expect(refused.code).toBe('APPROVAL_QUORUM_NOT_MET');
      expect(refused.message).toContain('steward site-a (STEWARD_APPROVAL_MISMATCH)');
      expect(refused.message).toContain('steward site-b (STEWARD_APPROVAL_SIGNATURE_INVALID)');
      expect(refused.message).toContain('steward site-c (STEWARD_APPROVAL_SIGNATURE_INVALID)');
      expect((await api('bootstrap', 'GET', `/v1/releases/${attacked.id}`)).body).toMatchObject({ state: 'approved', sha256: null, statements: { decrypt: null } });

      // Nor does the countersigning site sign a digest for a release the database says was decrypted.
      await op.db.query(`UPDATE releases SET state = 'decrypted', plaintext_sha256 = $2 WHERE id = $1`, [attacked.id, 'ef'.repeat(32)]);
      const reproduce = await releaseTask(second);
      expect(JSON.parse(reproduce!.releaseJson)).toMatchObject({ release: attacked.id, step: 'reproduce' });
      expect((await agentStep(second, reproduce!)).code).toBe('APPROVAL_QUORUM_NOT_MET');

      const row = (await op.db.query<{ state: string; decrypt_statement: string | null; reproduce_statement: string | null; released_model_id: string | null }>(
        'SELECT state, decrypt_statement, reproduce_statement, released_model_id FROM releases WHERE id = $1', [attacked.id])).rows[0]!;
      expect(row).toEqual({ state: 'decrypted', decrypt_statement: null, reproduce_statement: null, released_model_id: null });
      expect((await t.coordinator.blobs.list()).filter((k) => k.includes(attacked.id))).toEqual([]);
      expect(await count("SELECT count(*) AS n FROM audit_events WHERE action IN ('release.decrypt', 'release.countersign', 'model.release') AND event::jsonb ->> 'resource' = $1",
        [`job:${jobId}/release:${attacked.id}`])).toBe(0);
      expect(await count("SELECT count(*) AS n FROM models WHERE job_id = $1 AND kind = 'released'", [jobId])).toBe(0);
    }, 120_000);

    it('releases once a majority of the stewards signed with their sites\' keys (medfed agent approve-release, online and with --out) and compliance approved', async () => {
      expect((await api('bootstrap', 'POST', `/v1/releases/${attacked.id}/cancel`, { reason: 'approved in the database, not by the stewards' })).body.state).toBe('cancelled');
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
      // The stewards send their signatures with the site-steward API keys the operator handed them.
      const connection = (site: string) => ['--coordinator', t.coordinator.rest, '--token', op.tokens[`site-steward:${site}`]!];

      // site-a's steward signs and sends in one step.
      const online = await runCli(['agent', 'approve-release', '--config', await configOf('site-a'), '--release', release.id, '--json', ...connection('site-a')]);
      expect([online.code, online.stderr]).toEqual([0, '']);
      expect(JSON.parse(online.stdout)).toMatchObject({
        release: release.id, job: jobId, round: 1, inputSha256: release.inputSha256, signer: 'site-a', consortium: CONSORTIUM, key: keysOf('site-a').steward.thumbprint, posted: true, state: 'requested',
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

  describe('approving a job for a site', () => {
    it('offers no route to approve a job for a site: every minted token gets 404 NOT_FOUND for the plausible ones', async () => {
      // The one approval route is a release's; a job's approval lives in the site's state dir only.
      expect(t.coordinator.served.rest.filter((r) => /approv/i.test(r.url)).map((r) => `${r.method} ${r.url}`)).toEqual(['POST /v1/releases/:id/approvals']);
      for (const who of Object.keys(op.tokens)) {
        for (const path of [`/v1/jobs/${jobId}/approvals`, `/v1/jobs/${jobId}/sites/site-a/approval`, '/v1/sites/site-a/approvals']) {
          const answer = await api(who, 'POST', path, { site: 'site-a', job: jobId, ethicsRef: 'IRB-OPERATOR' });
          expect([who, path, answer.status, answer.body.code]).toEqual([who, path, 404, 'NOT_FOUND']);
        }
      }
    });

    it('refuses at site-a\'s agent a job the operator reported approved as site-a\'s node and wrote approved into the audit trail: JOB_NOT_APPROVED, nothing trained', async () => {
      // The released job is done with: its pending tasks would come first.
      expect((await api('researcher', 'POST', `/v1/jobs/${jobId}/stop`, { reason: 'released' })).status).toBe(200);
      const created = await api('researcher', 'POST', '/v1/jobs', {
        spec: { ...spec, name: 'operator-approved', sites: ['site-a'], minSites: 1, encryption: { enabled: false, paramSet: 'bfv-n4096-q60-t48-2x23', clipNorm: 1, fracBits: 0 } },
      });
      expect(created.status).toBe(201);
      const job = created.body.id as string;

      // As site-a's node (a key enrolled with a code minted by the operator's site-steward key), it reads what the coordinator announces and reports it approved.
      const node = await op.enrollNode('site-a', op.tokens['site-steward:site-a']!, join(root, 'operator-node'));
      let announced: Task | undefined;
      for (const deadline = Date.now() + 60_000; !announced && Date.now() < deadline;) {
        const task = (await node.pollTask('site-a', 500)).task;
        if (task?.jobId === job) announced = task;
      }
      const digest = jobSpecDigest(announced!.jobSpecJson, job);
      const report = { siteId: 'site-a', jobId: job, approved: true, specDigest: digest, refusalCode: '', mode: 'steward' };
      await node.reportJobApproval({ ...report, ethicsRef: 'IRB-OPERATOR-1' });
      node.close();
      // In the database, an event of the same kind, appended the way the coordinator appends (the chain hashes are its to compute too).
      await appendAuditEvent(op.db, siteApprovalEvent({ ...report, ethicsRef: 'IRB-OPERATOR-2' }));
      const events = async () => (await op.db.query<{ outcome: string; event: string }>(
        "SELECT outcome, event FROM audit_events WHERE action = 'job.site-approval' AND job = $1 AND site = 'site-a' ORDER BY seq", [job])).rows
        .map((r) => [r.outcome, JSON.parse(r.event).details as Record<string, unknown>] as const);
      expect(await events()).toEqual([
        ['success', { job, sha256: digest, ethics_ref: 'IRB-OPERATOR-1' }],
        ['success', { job, sha256: digest, ethics_ref: 'IRB-OPERATOR-2' }],
      ]);

      // site-a's own agent (enrolled anew by its site, which retires the operator's node key) polls and runs its approval gate.
      const { code } = await t.coordinator.auth.createEnrollmentCode('site-a', 'site-a');
      await enrollAgent({ coordinator: t.coordinator.grpc, channelCredentials: channelCredentials(t.coordinator.grpc, undefined), siteId: 'site-a', code, stateDir: stateDir('site-a'), agentVersion: AGENT_VERSION });
      const config = await loadAgentConfig({ env: {}, overrides: {
        siteId: 'site-a', 'coordinator.grpc': t.coordinator.grpc, 'data.csv': join(root, 'site-a', 'data.csv'), 'data.label': 'y', stateDir: stateDir('site-a'),
        pollWaitMs: 500, heartbeatSeconds: 1, logLevel: 'silent',
      } });
      expect(config.approvals.autoApproveInDevelopment).toBe(false);
      const siteAgent = new NodeAgent(config, silent);
      await siteAgent.prepare();
      agent = { stop: () => siteAgent.stop(), running: siteAgent.run() };
      for (const deadline = Date.now() + 60_000; (await events()).length < 3 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 100));
      expect((await events())[2]).toEqual(['denied', { job, sha256: digest, reason: 'JOB_NOT_APPROVED' }]);
      await agent.stop();
      await agent.running.catch(() => undefined);
      agent = undefined;

      const store = new ApprovalStore(stateDir('site-a'));
      expect(await store.find(job)).toBeUndefined();
      expect((await store.announcement(job))?.specDigest).toBe(digest);
      const { rows: status } = await op.db.query<{ last_status: { detail: string } }>("SELECT last_status FROM sites WHERE id = 'site-a'");
      expect(status[0]!.last_status.detail).toContain('JOB_NOT_APPROVED');
      expect(await count('SELECT count(*) AS n FROM contributions WHERE job_id = $1', [job])).toBe(0);
      expect((await api('bootstrap', 'POST', `/v1/jobs/${job}/stop`, { reason: 'not approved by site-a' })).status).toBe(200);
    }, 180_000);
  });

  describe('purging audit entries inside retention', () => {
    /** The entries up to the head when the attempts began, and how many there were. */
    let head: number;
    let kept: number;
    let before: string;
    /** The operator's own keys under the sites' names. */
    let impostors: Record<string, ConsortiumSite>;
    const purge = (who: string, approvals?: string[]) => api(who, 'POST', '/v1/audit/purge', { before, force: true, ...(approvals ? { approvals } : {}) });
    const lastPurgeEvent = async () => JSON.parse((await op.db.query<{ event: string }>(
      "SELECT event FROM audit_events WHERE action = 'audit.purge' ORDER BY seq DESC LIMIT 1")).rows[0]!.event) as { outcome: string; details: Record<string, unknown> };

    it('installs the roster the three stewards signed, the one their agents imported', async () => {
      const installed = await api('bootstrap', 'POST', '/v1/governance/roster', { roster });
      expect([installed.status, installed.body.outcome, installed.body.digest]).toEqual([200, 'installed', rosterDigest(roster)]);
      head = await count('SELECT max(seq) AS n FROM audit_events');
      kept = await count('SELECT count(*) AS n FROM audit_events WHERE seq <= $1', [head]);
      before = new Date().toISOString();
      impostors = await consortiumSites(join(root, 'operator'), CONSORTIUM, SITES);
    });

    it('refuses a forced purge asked with each token the operator holds: APPROVAL_QUORUM_NOT_MET for the admins, AUTH_ROLE_FORBIDDEN for every other role', async () => {
      for (const who of Object.keys(op.tokens)) {
        const refused = await purge(who);
        const expected = who === 'bootstrap' || who === 'admin' ? [403, 'APPROVAL_QUORUM_NOT_MET'] : [403, 'AUTH_ROLE_FORBIDDEN'];
        expect([who, refused.status, refused.body.code]).toEqual([who, ...expected]);
      }
      expect(await lastPurgeEvent()).toMatchObject({ outcome: 'denied', details: { reason: 'APPROVAL_QUORUM_NOT_MET', version: 1, sha256: rosterDigest(roster) } });
    });

    it('refuses approvals signed with keys the operator made, under the sites\' names or as an auditor, and its own roster offered as a replacement: APPROVAL_QUORUM_NOT_MET', async () => {
      const asStewards = await purge('admin', SITES.map((id) => purgeApproval(impostors[id]!, CONSORTIUM, before)));
      expect([asStewards.status, asStewards.body.code]).toEqual([403, 'APPROVAL_QUORUM_NOT_MET']);
      for (const id of SITES) expect(asStewards.body.message).toContain(`steward ${id} (STEWARD_APPROVAL_SIGNATURE_INVALID)`);
      const asAuditor = await purge('admin', [auditorPurgeApproval('compliance', generateApprovalKey(), CONSORTIUM, before)]);
      expect([asAuditor.status, asAuditor.body.code]).toEqual([403, 'APPROVAL_QUORUM_NOT_MET']);

      // A roster of its own keys, signed by all of them, replaces nothing without the installed stewards' approvals.
      const own = await signedRoster(CONSORTIUM, SITES.map((id) => impostors[id]!), { version: 2, rules: { auditRetentionDays: 2192 } });
      const replaced = await api('bootstrap', 'POST', '/v1/governance/roster', { roster: own, approvals: SITES.map((id) => ruleApproval(impostors[id]!, own)) });
      expect([replaced.status, replaced.body.code]).toEqual([403, 'APPROVAL_QUORUM_NOT_MET']);
      expect((await api('auditor', 'GET', '/v1/governance/roster')).body).toMatchObject({ version: 1, digest: rosterDigest(roster) });
      expect(await lastPurgeEvent()).toMatchObject({ outcome: 'denied', details: { reason: 'APPROVAL_QUORUM_NOT_MET' } });
    });

    it('refuses every purge while the roster row is edited in the database to list the operator\'s auditor key: GOVERNANCE_ROSTER_INVALID', async () => {
      const auditorKey = generateApprovalKey();
      const original = (await op.db.query<{ roster: unknown }>('SELECT roster FROM governance_rosters WHERE version = 1')).rows[0]!.roster;
      await op.db.query("UPDATE governance_rosters SET roster = jsonb_set(roster, '{auditors}', $1::jsonb) WHERE version = 1",
        [JSON.stringify([{ auditorId: 'compliance', keyThumbprint: ed25519Thumbprint(auditorKey.publicJwk), publicJwk: auditorKey.publicJwk }])]);
      try {
        const refused = await purge('admin', [auditorPurgeApproval('compliance', auditorKey, CONSORTIUM, before)]);
        expect([refused.status, refused.body.code]).toEqual([409, 'GOVERNANCE_ROSTER_INVALID']);
        expect(refused.body.message).toContain('ROSTER_SIGNATURE_INVALID');
        expect(await lastPurgeEvent()).toMatchObject({ outcome: 'denied', details: { reason: 'GOVERNANCE_ROSTER_INVALID' } });
      } finally {
        await op.db.query('UPDATE governance_rosters SET roster = $1::jsonb WHERE version = 1', [JSON.stringify(original)]);
      }
    });

    it('purged nothing so far; accepts a roster table emptied by SQL, a roster of the operator\'s keys and a purge inside retention those keys approved (the coordinator cannot tell), but a verifier who pinned the stewards\' roster refuses the export: AUDIT_PURGE_NOT_APPROVED', async () => {
      // The refused attempts above removed nothing.
      expect(await count('SELECT count(*) AS n FROM audit_events WHERE seq <= $1', [head])).toBe(kept);
      expect(await count('SELECT count(*) AS n FROM audit_truncations')).toBe(0);

      const stewards = join(root, 'pinned-roster.json');
      await writeFile(stewards, JSON.stringify(roster));
      const saved = (await op.db.query<{ rows: unknown }>('SELECT coalesce(jsonb_agg(to_jsonb(g) ORDER BY version), \'[]\'::jsonb) AS rows FROM governance_rosters g')).rows[0]!.rows;
      const own = await signedRoster(CONSORTIUM, SITES.map((id) => impostors[id]!));
      try {
        await op.db.query('DELETE FROM governance_rosters');
        const installed = await api('bootstrap', 'POST', '/v1/governance/roster', { roster: own });
        expect([installed.status, installed.body.outcome, installed.body.digest]).toEqual([200, 'installed', rosterDigest(own)]);
        // The cut lies after the install, so its event is purged with the rest: what remains is the purge naming the operator's roster.
        await new Promise((r) => setTimeout(r, 5));
        const cut = new Date().toISOString();
        const purged = await api('admin', 'POST', '/v1/audit/purge', { before: cut, force: true, approvals: SITES.map((id) => purgeApproval(impostors[id]!, CONSORTIUM, cut)) });
        expect([purged.status, purged.body.signers]).toEqual([200, SITES.map((id) => `steward:${id}`)]);
        expect(await lastPurgeEvent()).toMatchObject({ outcome: 'success', details: { reason: 'RETENTION_OVERRIDE', version: 1, sha256: rosterDigest(own), approvals: expect.any(Array) } });
        expect(await count("SELECT count(*) AS n FROM audit_events WHERE action = 'governance.roster.install'")).toBe(0);
      } finally {
        // The stewards' roster back in place, as the rest of the file and the coordinator expect it.
        await op.db.query('DELETE FROM governance_rosters');
        await op.db.query('INSERT INTO governance_rosters SELECT * FROM jsonb_populate_recordset(NULL::governance_rosters, $1::jsonb)', [JSON.stringify(saved)]);
      }
      expect((await api('auditor', 'GET', '/v1/governance/roster')).body).toMatchObject({ version: 1, digest: rosterDigest(roster) });

      const bundle = join(root, 'operator-export.tar.gz');
      const exported = await runCli(['audit', 'export', '--coordinator', t.coordinator.rest, '--token', op.tokens.auditor!, '--out', bundle]);
      expect([exported.code, exported.stderr]).toEqual([0, '']);
      const jwks = join(root, 'pinned-jwks.json');
      const logKey = join(root, 'pinned-log.vkey');
      await writeFile(jwks, JSON.stringify(t.coordinator.publisher.jwks()));
      await writeFile(logKey, `${t.coordinator.publisher.checkpointKey}\n`);
      // Against the coordinator's pinned keys alone the trail verifies: the operator's purge is signed and anchored like any other.
      const intact = await runCli(['audit', 'verify', bundle, '--jwks', jwks, '--log-key', logKey]);
      expect([intact.code, intact.stderr]).toEqual([0, '']);
      // With the stewards' roster pinned it does not. Its install event was purged, so the purge's own event is what fails (not GOVERNANCE_ROSTER_UNPINNED).
      const refused = await runCli(['audit', 'verify', bundle, '--jwks', jwks, '--log-key', logKey, '--roster', stewards]);
      expect(refused.code).toBe(7);
      expect(refused.stderr).toContain('AUDIT_PURGE_NOT_APPROVED: the purge inside retention at seq');
      expect(refused.stderr).toContain(`names roster digest ${rosterDigest(own)}: that is not the digest of a roster pinned here`);
      expect(refused.stdout).toMatch(/\nFAILED\n$/);

      // What the configuration attempt below must leave untouched.
      head = await count('SELECT max(seq) AS n FROM audit_events');
      kept = await count('SELECT count(*) AS n FROM audit_events WHERE seq <= $1', [head]);
    }, 180_000);

    // Last: the operator's coordinator takes the leader lease, so the one above stops writing.
    it('refuses the operator\'s configuration: a shorter retention is not loaded, a coordinator on the same database naming its own roster file does not start (GOVERNANCE_ROSTER_CONFLICT); every audit row the accepted purge left is still there', async () => {
      await expect(loadCoordinatorConfig({ env: {}, overrides: { 'audit.retentionDays': 30 } })).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('retentionDays') });

      const own = await signedRoster(CONSORTIUM, SITES.map((id) => impostors[id]!));
      const ownFile = join(root, 'operator', 'roster.json');
      await writeFile(ownFile, JSON.stringify(own));
      await expect(op.startCoordinator({ 'governance.rosterFile': ownFile })).rejects.toMatchObject({
        code: 'GOVERNANCE_ROSTER_CONFLICT', message: expect.stringContaining(`roster ${CONSORTIUM} v1 (digest ${rosterDigest(roster)}) is installed`),
      });
      expect((await op.db.query<{ digest: string }>('SELECT digest FROM governance_rosters ORDER BY version')).rows).toEqual([{ digest: rosterDigest(roster) }]);

      expect(await count('SELECT count(*) AS n FROM audit_events WHERE seq <= $1', [head])).toBe(kept);
      // Only the purge accepted above.
      expect(await count('SELECT count(*) AS n FROM audit_truncations')).toBe(1);
      expect(await count("SELECT count(*) AS n FROM audit_events WHERE action = 'audit.purge' AND outcome = 'success'")).toBe(1);
    }, 120_000);
  });
});
