import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import {
  encodeEncryptedVector, encodeVector, encryptUpdate, initialWeights, parameterCount, sha256Hex, TaskKind,
  type JobSpec, type PinnedSite, type Task,
} from '@medfed/proto';
import { generateAttestationKey, publicAttestationJwk, type AttestationPrivateJwk } from '@medfed/proto/attestation/index';
import { signReleaseStatement } from '@medfed/proto/release/index';
import { CoordinatorClient } from '@medfed/node-agent/transport/client';
import { ensureSiteKeys, pinsOf, type SiteKeys } from '@medfed/node-agent/custody/site-keys';
import { JobKeyStore } from '@medfed/node-agent/custody/job-key-store';
import { runKeyTask, type KeyTask } from '@medfed/node-agent/tasks/key-task';
import { reconstructGlobal } from '@medfed/node-agent/tasks/encrypted-model';
import { taskEncryption } from '@medfed/node-agent/tasks/encryption-context';
import { runReleaseTask, type ReleaseContext } from '@medfed/node-agent/tasks/release-task';
import { DEFAULT_CONSORTIUM } from '@medfed/node-agent/governance/consortium';
import { exportReleasedModelBundle, runModelVerify } from '../../cli/src/commands/model.js';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';
import { runCli } from '../support/cli.js';
import { codeOf } from '../support/error-code.js';
import { generateApprovalKey, signedReleaseApproval, stewardKeyOf, type ReleaseShown } from '../support/steward-approval.js';

const SITES = ['site-a', 'site-b', 'site-c'];
const FEATURES = 4;
const P = parameterCount(FEATURES, [3], 2);
const silent = pino({ level: 'silent' });
/** The configured step deadline; the tests make a site miss it by moving the deadline to now. */
const STEP_SECONDS = 120;

/** Each site's update in round r: recognisable values no training produces. */
const updateOf = (site: number, round: number) => Float32Array.from({ length: P }, (_, i) => Math.sin(i * (site + 1) + round) / 40);

interface Answer { status: number; body: Record<string, any> }

describe('model release: quorum, decryption by one site, countersignature by a second, signed and logged (real coordinator, gRPC, PostgreSQL)', () => {
  let t: TestCoordinator;
  let stateRoot: string;
  let jobId: string;
  let spec: JobSpec;
  const clients = new Map<string, CoordinatorClient>();
  const keys = new Map<string, SiteKeys>();
  const attestationKeys = new Map<string, AttestationPrivateJwk>();
  const tokens: Record<string, string> = {};
  /** The steward keys every site pinned (the key ceremony's pins): what the sites verify approvals with. */
  let pinned: Map<string, PinnedSite>;

  async function api(who: string, method: string, path: string, body?: unknown): Promise<Answer> {
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

  function context(site: string, task: Task): ReleaseContext {
    const client = clients.get(site)!;
    return {
      client, siteId: site, task, spec, log: silent, stateDir: join(stateRoot, site), keyStore: new JobKeyStore(join(stateRoot, site), site, keys.get(site)!),
      fetchWrappedKey: async (job) => {
        const k = await client.fetchJobKey(site, job);
        return { epoch: k.epoch, paramSet: k.paramSet, keyId: k.keyId, jwe: k.wrappedKey };
      },
      signStatement: (claims) => signReleaseStatement(claims, attestationKeys.get(site)!),
      approvalTrust: { consortium: DEFAULT_CONSORTIUM, stewardKeys: pinned },
    };
  }

  /** A site's steward approves with a signature of its site's steward key, as medfed agent approve-release does. */
  function approveAsSteward(site: string, release: ReleaseShown): Promise<Answer> {
    return api(`steward-${site}`, 'POST', `/v1/releases/${release.id}/approvals`, { approval: signedReleaseApproval(release, site, stewardKeyOf(keys.get(site)!)) });
  }

  async function poll(site: string): Promise<Task | undefined> {
    return (await clients.get(site)!.pollTask(site, 100)).task;
  }

  async function releaseEvents(id: string, job = jobId): Promise<{ action: string; outcome: string; actor: string; details: Record<string, unknown> }[]> {
    const { rows } = await t.coordinator.db.query<{ action: string; outcome: string; actor: string; event: string }>(
      "SELECT action, outcome, actor, event FROM audit_events WHERE action LIKE 'release.%' OR action = 'model.release' ORDER BY seq");
    return rows.map((r) => ({ ...r, event: undefined, ...(JSON.parse(r.event) as { resource: string; details: Record<string, unknown> }) }))
      .filter((e) => (e as unknown as { resource: string }).resource === `job:${job}/release:${id}`)
      .map(({ action, outcome, actor, details }) => ({ action, outcome, actor, details }));
  }

  beforeAll(async () => {
    t = await startTestCoordinator('postgres', { 'releases.stepTimeoutSeconds': STEP_SECONDS });
    stateRoot = await mkdtemp(join(tmpdir(), 'medfed-release-'));
    tokens.admin = t.coordinator.adminToken;
    for (const id of SITES) {
      await t.coordinator.engine.registerSite(id, id);
      keys.set(id, await ensureSiteKeys(join(stateRoot, id)));
      attestationKeys.set(id, generateAttestationKey());
      clients.set(id, new CoordinatorClient(t.coordinator.grpc));
      await clients.get(id)!.enroll(id, 'test', 'test', keys.get(id)!.keyAgreement.publicJwk, publicAttestationJwk(attestationKeys.get(id)!));
    }
    await t.coordinator.engine.registerSite('site-x', 'a site outside the job');
    tokens.researcher = await personToken('researcher', 'researcher');
    tokens.researcher2 = await personToken('another-researcher', 'researcher');
    tokens.auditor = await personToken('compliance', 'auditor');
    for (const id of [...SITES, 'site-x']) tokens[`steward-${id}`] = await personToken(`steward-${id}`, 'site-steward', id);
    // The coordinator's manifest keys and log key, pinned by whoever verifies a released model (else verify exits 9).
    await writeFile(join(stateRoot, 'manifest-jwks.json'), JSON.stringify(t.coordinator.publisher.jwks()));
    await writeFile(join(stateRoot, 'checkpoint.vkey'), `${t.coordinator.publisher.checkpointKey}\n`);

    spec = {
      name: 'release', features: ['a', 'b', 'c', 'd'], label: 'y', classes: ['n', 'y'], model: { hidden: [3], activation: 'relu' },
      training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 3 }, rounds: 2, minSites: 3,
      roundDeadlineSeconds: 120, strategy: { name: 'fedavg' }, sites: SITES, standardization: 'none',
      encryption: { enabled: true, paramSet: 'bfv-n4096-q60-t48-2x23', clipNorm: 1, fracBits: 0 },
    };
    jobId = (await t.coordinator.engine.createJob(spec, 'tester')).id;
    pinned = new Map<string, PinnedSite>(SITES.map((id) => {
      const p = pinsOf(id, keys.get(id)!);
      return [id, { stewardKeyThumbprint: p.stewardKeyThumbprint, keyAgreementKeyThumbprint: p.keyAgreementKeyThumbprint }];
    }));
    // Key ceremony, then two rounds of encrypted updates (no training: the values are known).
    for (let round = 1; round <= 2; round++) {
      const tasks = new Map<string, Task>();
      // Bounded by time, not by polls: the key ceremony takes longer on a loaded machine.
      for (const deadline = Date.now() + 120_000; tasks.size < SITES.length && Date.now() < deadline;) {
        for (const id of SITES) {
          if (tasks.has(id)) continue;
          const task = await poll(id);
          if (!task) continue;
          if (task.keyTaskJson) {
            const client = clients.get(id)!;
            await runKeyTask(jobId, JSON.parse(task.keyTaskJson) as KeyTask, {
              siteId: id, keys: keys.get(id)!, pinned, autoApprove: true, log: silent,
              submitSignature: async (jws) => { await client.submitSiteListSignature(id, jobId, jws); },
              submitKeyMaterial: async (pp, w) => { await client.submitKeyMaterial(id, jobId, pp, w); },
            });
          } else if (task.round === round) {
            tasks.set(id, task);
          }
        }
      }
      expect(tasks.size).toBe(3);
      for (const [i, id] of SITES.entries()) {
        const task = tasks.get(id)!;
        const enc = taskEncryption(task)!;
        const { ctx, key } = await context(id, task).keyStore.get(jobId, enc.settings.epoch, enc.settings.paramSet, enc.settings.keyId,
          () => context(id, task).fetchWrappedKey(jobId));
        const payload = encodeEncryptedVector(encryptUpdate(ctx, key, updateOf(i, round), {
          weight: enc.settings.weight, clip: enc.settings.clipNorm, fracBits: enc.settings.fracBits, maxSites: enc.settings.maxSites }));
        await clients.get(id)!.submitUpdate({ siteId: id, jobId, round, submissionId: `s-${id}-${round}`, numSamples: 10, baseModelId: task.modelId, attestation: '' }, payload);
      }
    }
    // Round 2's sum is stored once the round closes.
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      const { rows } = await t.coordinator.db.query("SELECT 1 FROM models WHERE job_id = $1 AND round = 2 AND kind = 'update-sum'", [jobId]);
      if (rows.length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 360_000);

  afterAll(async () => {
    for (const c of clients.values()) c.close();
    await t.stop();
    await rm(stateRoot, { recursive: true, force: true });
  });

  let releaseId: string;
  let release: ReleaseShown;
  let decrypting: string;
  let reproducing: string;

  it('hands out no decryption task before the quorum; a steward approval without its site\'s signature, or with another key or for another round, is refused; a steward of a site outside the job is refused; approvals are idempotent', async () => {
    expect((await api('steward-site-a', 'POST', `/v1/jobs/${jobId}/releases`, { round: 2, reason: 'publish' })).status).toBe(403);
    expect((await api('researcher', 'POST', `/v1/jobs/${jobId}/releases`, { round: 7, reason: 'no such round' })).body.code).toBe('RELEASE_REQUEST_INVALID');
    const requested = await api('researcher', 'POST', `/v1/jobs/${jobId}/releases`, { round: 2, reason: 'publish the final model' });
    expect(requested.status).toBe(201);
    expect(requested.body).toMatchObject({ state: 'requested', job: jobId, round: 2, quorum: { sites: SITES, siteApprovals: 2, compliance: 1 } });
    releaseId = requested.body.id;
    release = requested.body as unknown as ReleaseShown;
    decrypting = requested.body.decryptingSite;
    reproducing = requested.body.countersigningSite;
    expect(SITES).toContain(decrypting);
    expect(SITES).toContain(reproducing);
    expect(decrypting).not.toBe(reproducing);
    expect((await api('researcher', 'POST', `/v1/jobs/${jobId}/releases`, { round: 2, reason: 'again' })).body.code).toBe('RELEASE_EXISTS');

    // A steward's API key alone does not approve: the approval is its site's signature, checked here
    // against the steward key the site used for the job's site list.
    const unsigned = await api(`steward-${decrypting}`, 'POST', `/v1/releases/${releaseId}/approvals`, {});
    expect([unsigned.status, unsigned.body.code]).toEqual([400, 'RELEASE_APPROVAL_SIGNATURE_REQUIRED']);
    const otherKey = await api(`steward-${decrypting}`, 'POST', `/v1/releases/${releaseId}/approvals`, { approval: signedReleaseApproval(release, decrypting, generateApprovalKey()) });
    expect([otherKey.status, otherKey.body.code]).toEqual([403, 'STEWARD_APPROVAL_SIGNATURE_INVALID']);
    const otherRound = await api(`steward-${decrypting}`, 'POST', `/v1/releases/${releaseId}/approvals`,
      { approval: signedReleaseApproval(release, decrypting, stewardKeyOf(keys.get(decrypting)!), { round: 1 }) });
    expect([otherRound.status, otherRound.body.code]).toEqual([409, 'STEWARD_APPROVAL_MISMATCH']);
    const signed = signedReleaseApproval(release, decrypting, stewardKeyOf(keys.get(decrypting)!));
    const first = await api(`steward-${decrypting}`, 'POST', `/v1/releases/${releaseId}/approvals`, { approval: signed });
    expect(first.body.state).toBe('requested');
    expect(first.body.approvals).toEqual([expect.objectContaining({
      capacity: `site:${decrypting}`, signature: signed, signedBy: keys.get(decrypting)!.steward.thumbprint, keyChecked: true,
    })]);
    expect((await api('auditor', 'POST', `/v1/releases/${releaseId}/approvals`, {})).body.state).toBe('requested');
    const again = await api(`steward-${decrypting}`, 'POST', `/v1/releases/${releaseId}/approvals`, { approval: signed });
    expect(again.status).toBe(200);
    expect(again.body.approvals).toHaveLength(2);
    const outsider = await api('steward-site-x', 'POST', `/v1/releases/${releaseId}/approvals`, {});
    expect([outsider.status, outsider.body.code]).toEqual([403, 'RELEASE_APPROVER_NOT_IN_JOB']);
    expect((await api('researcher', 'POST', `/v1/releases/${releaseId}/approvals`, {})).status).toBe(403);

    // One site steward and compliance: not a majority of the three sites, so no site is asked to decrypt.
    expect((await poll(decrypting))?.kind).not.toBe(TaskKind.TASK_KIND_RELEASE);
    const shown = await api('researcher', 'GET', `/v1/releases/${releaseId}`);
    expect(shown.body).toMatchObject({ state: 'requested', sitesApproved: [decrypting], complianceApprovals: 1, quorumReached: false, sha256: null });
    expect((await api('researcher', 'GET', '/v1/releases')).body.releases).toEqual([]); // the registry holds released models only
    expect((await api('steward-site-x', 'GET', `/v1/releases/${releaseId}`)).body.code).toBe('RELEASE_UNKNOWN');
  });

  it('releases after the quorum: one site decrypts, a second reproduces and countersigns; the registry lists it; the bundle verifies offline and equals what each site reconstructs', async () => {
    const third = SITES.find((s) => s !== decrypting && s !== reproducing)!;
    expect((await approveAsSteward(reproducing, release)).body).toMatchObject({ state: 'approved', quorumReached: true });

    // The reproducing site has nothing to do until the first site uploaded.
    expect((await poll(reproducing))?.kind).not.toBe(TaskKind.TASK_KIND_RELEASE);
    const decryptTask = await poll(decrypting);
    expect(decryptTask?.kind).toBe(TaskKind.TASK_KIND_RELEASE);
    expect(JSON.parse(decryptTask!.releaseJson)).toMatchObject({ release: releaseId, step: 'decrypt', round: 2 });
    // The task carries both stewards' signatures; the site verifies them against its pins before it decrypts.
    expect((JSON.parse(decryptTask!.releaseJson) as { approvals: string[] }).approvals).toHaveLength(2);
    expect(await runReleaseTask(context(decrypting, decryptTask!))).toBe('decrypted');

    const reproduceTask = await poll(reproducing);
    expect(JSON.parse(reproduceTask!.releaseJson)).toMatchObject({ release: releaseId, step: 'reproduce' });
    // Blind reproduction: the second site is not told the digest it should find.
    expect(JSON.parse(reproduceTask!.releaseJson)).not.toHaveProperty('expectedSha256');
    // A statement signed with another site's key is refused (and audited); the release waits on.
    const forged = signReleaseStatement({
      release: releaseId, site: reproducing, job: jobId, round: 2, step: 'reproduce', inputSha256: JSON.parse(reproduceTask!.releaseJson).inputSha256,
      sha256: 'ab'.repeat(32), agrees: true, iat: Math.floor(Date.now() / 1000),
    }, attestationKeys.get(third)!);
    expect(await codeOf(clients.get(reproducing)!.submitRelease({ siteId: reproducing, releaseId, statement: forged }, new Uint8Array(0)))).toBe('RELEASE_STATEMENT_SIGNATURE_INVALID');
    // A third site cannot step in for the chosen one.
    const thirdStatement = signReleaseStatement({
      release: releaseId, site: third, job: jobId, round: 2, step: 'reproduce', inputSha256: JSON.parse(reproduceTask!.releaseJson).inputSha256,
      sha256: 'ab'.repeat(32), agrees: true, iat: Math.floor(Date.now() / 1000),
    }, attestationKeys.get(third)!);
    expect(await codeOf(clients.get(third)!.submitRelease({ siteId: third, releaseId, statement: thirdStatement }, new Uint8Array(0)))).toBe('RELEASE_STEP_UNEXPECTED');
    expect(await runReleaseTask(context(reproducing, reproduceTask!))).toBe('released');

    const registry = (await api('researcher', 'GET', '/v1/releases')).body.releases as Record<string, any>[];
    expect(registry).toHaveLength(1);
    const entry = registry[0]!;
    expect(entry).toMatchObject({
      id: releaseId, job: jobId, round: 2, state: 'released', decryptingSite: decrypting, countersigningSite: reproducing, byteSize: P * 4,
    });
    expect(entry.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(entry.manifestDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(entry.leafIndex).toEqual(expect.any(Number));
    expect(entry.approvals.map((a: { capacity: string }) => a.capacity).sort()).toEqual(['compliance', `site:${decrypting}`, `site:${reproducing}`].sort());

    // The CLI: the registry, one release, and the bundle written and verified by the medfed command itself.
    const connect = ['--coordinator', t.coordinator.rest, '--token', tokens.researcher!];
    const cliBundle = join(stateRoot, 'cli-bundle');
    const [ls, show, cliExport] = await Promise.all([
      runCli(['model', 'release', 'ls', ...connect, '--json']),
      runCli(['model', 'release', 'show', releaseId, ...connect]),
      runCli(['model', 'export', '--release', releaseId, '--out', cliBundle, ...connect]),
    ]);
    expect([ls.code, (JSON.parse(ls.stdout) as { releases: { id: string }[] }).releases.map((r) => r.id)]).toEqual([0, [releaseId]]);
    expect(show.stdout).toContain(`decrypts: ${decrypting}; reproduces and countersigns: ${reproducing}`);
    expect(cliExport.code).toBe(0);
    const pins = { jwks: join(stateRoot, 'manifest-jwks.json'), logKey: join(stateRoot, 'checkpoint.vkey') };
    const verified = await runCli(['model', 'verify', cliBundle, '--job', jobId, '--round', '2', '--jwks', pins.jwks, '--log-key', pins.logKey]);
    expect([verified.code, verified.stdout]).toEqual([0, expect.stringContaining('released-model for job')]);
    expect(verified.stdout).toContain(`plaintext float32 model, ${P} parameters`);

    // The offline bundle: exported as a researcher, verified with nothing but its files.
    const out = join(stateRoot, 'bundle');
    const exported = await exportReleasedModelBundle({ coordinator: t.coordinator.rest, credential: { token: tokens.researcher! }, release: releaseId, out });
    expect(exported.sha256).toBe(entry.sha256);
    const io = { text: '', code: -1 };
    const code = await runModelVerify(out, { job: jobId, round: '2', witnessKey: [], json: true, ...pins },
      { stdout: (s) => { io.text += s; }, stderr: (s) => { io.text += s; }, exit: () => {} });
    expect([code, JSON.parse(io.text).kind]).toEqual([0, 'released-model']);
    const model = await readFile(join(out, 'model.bin'));
    expect(sha256Hex(model)).toBe(entry.sha256);

    // Every site, the one that took no part included, reconstructs exactly these bytes.
    for (const site of SITES) {
      const global = await reconstructGlobal(context(site, reproduceTask!), taskEncryption(reproduceTask!)!, P);
      expect(Buffer.from(encodeVector(global)).equals(model)).toBe(true);
    }
    // And they are the initial model plus the average update of each round (fixed-point exact to 1e-4).
    const initial = initialWeights(FEATURES, [3], 2, spec.training.seed);
    const released = new Float32Array(model.buffer, model.byteOffset, P);
    for (let i = 0; i < P; i++) {
      const want = initial[i]! + [1, 2].reduce((s, r) => s + (updateOf(0, r)[i]! + updateOf(1, r)[i]! + updateOf(2, r)[i]!) / 3, 0);
      expect(Math.abs(released[i]! - want)).toBeLessThan(1e-4);
    }
    // A tampered bundle is refused offline.
    const tampered = Buffer.from(model);
    tampered[5] = tampered[5]! ^ 0x01;
    await writeFile(join(out, 'model.bin'), tampered);
    expect(await runModelVerify(out, { job: jobId, round: '2', witnessKey: [], ...pins }, { stdout: () => {}, stderr: () => {}, exit: () => {} })).toBe(7);

    const events = await releaseEvents(releaseId);
    expect(events.map((e) => [e.action, e.outcome, e.details.site ?? e.details.reason ?? null])).toEqual([
      ['release.request', 'success', null],
      ['release.approve', 'denied', decrypting],
      ['release.approve', 'denied', decrypting],
      ['release.approve', 'denied', decrypting],
      ['release.approve', 'success', decrypting],
      ['release.approve', 'success', null],
      ['release.approve', 'denied', 'site-x'],
      ['release.approve', 'success', reproducing],
      ['release.approve', 'success', 'QUORUM_REACHED'],
      ['release.decrypt', 'success', decrypting],
      ['release.countersign', 'denied', reproducing],
      ['release.countersign', 'denied', third],
      ['release.countersign', 'success', reproducing],
      ['model.release', 'success', null],
    ]);
    expect(events[0]!.details.sites).toEqual([decrypting, reproducing]);
    expect(events.slice(1, 4).map((e) => e.details.reason)).toEqual(['RELEASE_APPROVAL_SIGNATURE_REQUIRED', 'STEWARD_APPROVAL_SIGNATURE_INVALID', 'STEWARD_APPROVAL_MISMATCH']);
    expect(events[6]!.details.reason).toBe('RELEASE_APPROVER_NOT_IN_JOB');
    expect(events[10]!.details.reason).toBe('RELEASE_STATEMENT_SIGNATURE_INVALID');
    expect(events[9]!.details.sha256).toBe(entry.sha256);
    expect(events.at(-1)!.details).toMatchObject({ job: jobId, round: 2, model: entry.modelId, sha256: entry.sha256 });
  }, 120_000);

  it('refuses the release when the second site reproduces a different digest (tampered cache): no countersignature, the plaintext is discarded, audited', async () => {
    const requested = await api('researcher', 'POST', `/v1/jobs/${jobId}/releases`, { round: 1, reason: 'the round-1 model too' });
    const id = requested.body.id as string;
    const first = requested.body.decryptingSite as string;
    const second = requested.body.countersigningSite as string;
    for (const site of ['site-a', 'site-b']) expect((await approveAsSteward(site, requested.body as unknown as ReleaseShown)).status).toBe(200);
    expect((await api('auditor', 'POST', `/v1/releases/${id}/approvals`, {})).status).toBe(200);
    const decryptTask = await poll(first);
    expect(JSON.parse(decryptTask!.releaseJson)).toMatchObject({ release: id, step: 'decrypt', round: 1 });
    expect(await runReleaseTask(context(first, decryptTask!))).toBe('decrypted');
    const reproduceTask = await poll(second);
    // The second site's cached round-1 model is altered: its reconstruction no longer matches.
    const chain = taskEncryption(reproduceTask!)!.chain;
    const cacheDir = join(stateRoot, second, 'models', jobId);
    await mkdir(cacheDir, { recursive: true });
    await writeFile(join(cacheDir, `${chain.at(-1)!.modelId}.f32`), encodeVector(new Float32Array(P).fill(0.25)));
    expect(await runReleaseTask(context(second, reproduceTask!))).toBe('refused');

    const shown = (await api('auditor', 'GET', `/v1/releases/${id}`)).body;
    expect(shown).toMatchObject({ state: 'refused', failure: { code: 'RELEASE_HASH_MISMATCH' }, modelId: null });
    expect((await poll(second))?.kind).not.toBe(TaskKind.TASK_KIND_RELEASE);
    expect((await t.coordinator.blobs.list()).filter((k) => k.includes(id))).toEqual([]);
    const { rows } = await t.coordinator.db.query("SELECT 1 FROM models WHERE job_id = $1 AND kind = 'released' AND round = 1", [jobId]);
    expect(rows).toEqual([]);
    expect((await api('researcher', 'GET', '/v1/releases')).body.releases.map((r: { id: string }) => r.id)).toEqual([releaseId]);
    const out = join(stateRoot, 'refused-bundle');
    expect(await codeOf(exportReleasedModelBundle({ coordinator: t.coordinator.rest, credential: { token: tokens.researcher! }, release: id, out }))).toBe('RELEASE_NOT_RELEASED');

    const events = await releaseEvents(id);
    expect(events.slice(-3).map((e) => [e.action, e.outcome, e.details.reason ?? null])).toEqual([
      ['release.decrypt', 'success', null],
      ['release.countersign', 'denied', 'RELEASE_HASH_MISMATCH'],
      ['model.release', 'denied', 'RELEASE_HASH_MISMATCH'],
    ]);
    expect(events.at(-2)!.details.site).toBe(second);
    expect(events.at(-2)!.details.sha256).not.toBe(events.at(-3)!.details.sha256);
  }, 120_000);

  async function requestApproved(round: number, reason: string): Promise<{ id: string; first: string; second: string; third: string }> {
    const requested = await api('researcher', 'POST', `/v1/jobs/${jobId}/releases`, { round, reason });
    expect(requested.status).toBe(201);
    const id = requested.body.id as string;
    for (const site of ['site-a', 'site-b']) expect((await approveAsSteward(site, requested.body as unknown as ReleaseShown)).status).toBe(200);
    expect((await api('auditor', 'POST', `/v1/releases/${id}/approvals`, {})).status).toBe(200);
    const first = requested.body.decryptingSite as string;
    const second = requested.body.countersigningSite as string;
    return { id, first, second, third: SITES.find((s) => s !== first && s !== second)! };
  }

  /** The chosen site misses its step: its deadline is moved to now, and the coordinator's tick acts on it. */
  async function missStep(id: string): Promise<Record<string, any>> {
    const before = (await api('admin', 'GET', `/v1/releases/${id}`)).body;
    await t.coordinator.db.query('UPDATE releases SET step_deadline = now() WHERE id = $1', [id]);
    for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
      const now = (await api('admin', 'GET', `/v1/releases/${id}`)).body;
      if (now.missedSteps.length > before.missedSteps.length) return now;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`release ${id}: the missed step was not acted on`);
  }

  const blobsOf = async (id: string) => (await t.coordinator.blobs.list()).filter((k) => k.includes(id));

  it('cancels a pending release before and after decryption: requester or admin only, the plaintext deleted, no task afterwards, audited', async () => {
    const before = await requestApproved(1, 'cancel me before decryption');
    const shown = (await api('researcher', 'GET', `/v1/releases/${before.id}`)).body;
    // The configured deadline applies to the decrypting site's step from the quorum on.
    const due = new Date(shown.stepDeadline as string).getTime() - Date.now();
    expect(due).toBeGreaterThan((STEP_SECONDS - 30) * 1000);
    expect(due).toBeLessThanOrEqual((STEP_SECONDS + 30) * 1000);
    const early = await poll(before.first);
    expect(JSON.parse(early!.releaseJson)).toMatchObject({ release: before.id, step: 'decrypt' });

    // Another researcher is not the requester; a site steward has no cancel at all.
    const other = await api('researcher2', 'POST', `/v1/releases/${before.id}/cancel`, { reason: 'not mine' });
    expect([other.status, other.body.code]).toEqual([403, 'RELEASE_CANCEL_FORBIDDEN']);
    expect((await api(`steward-${before.first}`, 'POST', `/v1/releases/${before.id}/cancel`, { reason: 'no' })).status).toBe(403);
    expect((await api('researcher', 'POST', `/v1/releases/${before.id}/cancel`, {})).status).toBe(400);

    // The requester cancels through the CLI.
    const cancelled = await runCli(['model', 'release', 'cancel', before.id, '--reason', 'wrong round', '--coordinator', t.coordinator.rest, '--token', tokens.researcher!]);
    expect([cancelled.code, cancelled.stdout]).toEqual([0, expect.stringContaining(`${before.id}  CANCELLED`)]);
    expect((await api('researcher', 'GET', `/v1/releases/${before.id}`)).body).toMatchObject({
      state: 'cancelled', failure: { code: 'CANCELLED', message: 'wrong round' }, stepDeadline: null, cancelledBy: expect.any(String),
    });
    expect((await poll(before.first))?.kind).not.toBe(TaskKind.TASK_KIND_RELEASE);
    // The site that had already fetched its task cannot upload into the cancelled release; nothing is kept.
    expect(await codeOf(runReleaseTask(context(before.first, early!)))).toBe('RELEASE_STEP_UNEXPECTED');
    expect(await blobsOf(before.id)).toEqual([]);
    const again = await runCli(['model', 'release', 'cancel', before.id, '--reason', 'twice', '--coordinator', t.coordinator.rest, '--token', tokens.researcher!]);
    expect([again.code, again.stderr]).toEqual([8, expect.stringContaining('RELEASE_NOT_CANCELLABLE')]);

    // The round is free again; this time the first site decrypts before an admin cancels.
    const after = await requestApproved(1, 'cancel me after decryption');
    expect(await runReleaseTask(context(after.first, (await poll(after.first))!))).toBe('decrypted');
    expect(await blobsOf(after.id)).toHaveLength(1);
    const byAdmin = await api('admin', 'POST', `/v1/releases/${after.id}/cancel`, { reason: 'the data-use agreement changed' });
    expect([byAdmin.status, byAdmin.body.state]).toEqual([200, 'cancelled']);
    expect(await blobsOf(after.id)).toEqual([]);
    for (const site of SITES) expect((await poll(site))?.kind).not.toBe(TaskKind.TASK_KIND_RELEASE);
    expect((await api('researcher', 'POST', `/v1/releases/${after.id}/cancel`, { reason: 'late' })).body.code).toBe('RELEASE_NOT_CANCELLABLE');
    expect((await api('researcher', 'POST', `/v1/releases/${releaseId}/cancel`, { reason: 'released already' })).body.code).toBe('RELEASE_NOT_CANCELLABLE');

    const events = await releaseEvents(before.id);
    expect(events.filter((e) => e.action === 'release.cancel').map((e) => [e.outcome, e.details.reason])).toEqual([
      ['denied', 'RELEASE_CANCEL_FORBIDDEN'], ['success', 'CANCELLED'], ['denied', 'RELEASE_NOT_CANCELLABLE'],
    ]);
    expect(events.at(-2)!.action).toBe('release.decrypt'); // the late upload, refused
    expect(events.at(-2)!.outcome).toBe('denied');
    const afterEvents = await releaseEvents(after.id);
    expect(afterEvents.filter((e) => e.action === 'release.cancel').map((e) => [e.outcome, e.actor === 'coordinator'])).toEqual([
      ['success', false], ['denied', false],
    ]);
  }, 120_000);

  it('fails the release with RELEASE_STEP_TIMEOUT once every eligible site missed a step; the uploaded plaintext is deleted', async () => {
    const r = await requestApproved(1, 'nobody reproduces');
    expect(await runReleaseTask(context(r.first, (await poll(r.first))!))).toBe('decrypted');
    expect(await blobsOf(r.id)).toHaveLength(1);
    const late = await poll(r.second);
    expect(JSON.parse(late!.releaseJson)).toMatchObject({ release: r.id, step: 'reproduce' });
    // The reproducing site misses: the third site (never the decrypting one) takes the step over.
    const moved = await missStep(r.id);
    expect(moved).toMatchObject({ state: 'decrypted', decryptingSite: r.first, countersigningSite: r.third, missedSteps: [{ step: 'reproduce', site: r.second }] });
    expect((await poll(r.second))?.kind).not.toBe(TaskKind.TASK_KIND_RELEASE);
    expect(JSON.parse((await poll(r.third))!.releaseJson)).toMatchObject({ release: r.id, step: 'reproduce' });
    // The late site's countersignature is refused: the step is no longer its.
    expect(await codeOf(runReleaseTask(context(r.second, late!)))).toBe('RELEASE_STEP_UNEXPECTED');
    // The third site misses too: no key holder is left (the decrypting site never reproduces its own upload).
    const failed = await missStep(r.id);
    expect(failed).toMatchObject({ state: 'failed', failure: { code: 'RELEASE_STEP_TIMEOUT' }, stepDeadline: null, modelId: null });
    expect(failed.missedSteps.map((m: { site: string }) => m.site)).toEqual([r.second, r.third]);
    expect(await blobsOf(r.id)).toEqual([]);
    for (const site of SITES) expect((await poll(site))?.kind).not.toBe(TaskKind.TASK_KIND_RELEASE);

    const events = (await releaseEvents(r.id)).filter((e) => e.action === 'release.reassign' || e.action === 'model.release');
    expect(events.map((e) => [e.action, e.outcome, e.details.site, e.details.reason])).toEqual([
      ['release.reassign', 'success', r.third, 'RELEASE_STEP_TIMEOUT'],
      ['release.reassign', 'failure', r.third, 'RELEASE_STEP_TIMEOUT'],
      ['model.release', 'failure', undefined, 'RELEASE_STEP_TIMEOUT'],
    ]);
    expect(events[0]!.details.sites).toEqual([r.second, r.third]);
  }, 120_000);

  it('hands a missed decryption to another key holder, which completes the release with the reproducing site', async () => {
    // The refusal test above altered one site's cached round-1 model; the sites start from a clean cache.
    for (const site of SITES) await rm(join(stateRoot, site, 'models', jobId), { recursive: true, force: true });
    const r = await requestApproved(1, 'the first site is offline');
    const moved = await missStep(r.id);
    expect(moved).toMatchObject({ state: 'approved', decryptingSite: r.third, countersigningSite: r.second, missedSteps: [{ step: 'decrypt', site: r.first }] });
    expect((await poll(r.first))?.kind).not.toBe(TaskKind.TASK_KIND_RELEASE);
    expect(await runReleaseTask(context(r.third, (await poll(r.third))!))).toBe('decrypted');
    expect(await runReleaseTask(context(r.second, (await poll(r.second))!))).toBe('released');
    const released = (await api('researcher', 'GET', `/v1/releases/${r.id}`)).body;
    expect(released).toMatchObject({ state: 'released', decryptingSite: r.third, countersigningSite: r.second, stepDeadline: null });
    expect(released.leafIndex).toEqual(expect.any(Number));
    const events = await releaseEvents(r.id);
    expect(events.map((e) => [e.action, e.outcome, e.details.site ?? null]).slice(-5)).toEqual([
      ['release.approve', 'success', null],
      ['release.reassign', 'success', r.third],
      ['release.decrypt', 'success', r.third],
      ['release.countersign', 'success', r.second],
      ['model.release', 'success', null],
    ]);
  }, 120_000);

  it('releases a plaintext (development) job\'s model on approval alone: nothing to decrypt, the same signed bundle', async () => {
    await t.coordinator.engine.stopJob(jobId, 'done with the encrypted job');
    const plain = (await t.coordinator.engine.createJob({ ...spec, name: 'plaintext', rounds: 1, encryption: undefined } as JobSpec, 'tester')).id;
    for (const [i, id] of SITES.entries()) {
      let task: Task | undefined;
      for (let guard = 0; !task && guard < 300; guard++) task = await poll(id);
      expect(task!.jobId).toBe(plain);
      await clients.get(id)!.submitUpdate({ siteId: id, jobId: plain, round: 1, submissionId: `p-${id}`, numSamples: 10, baseModelId: task!.modelId, attestation: '' }, encodeVector(updateOf(i, 9)));
    }
    let weights: { sha256: string } | undefined;
    for (let i = 0; i < 600 && !weights; i++) {
      weights = (await t.coordinator.db.query<{ sha256: string }>("SELECT sha256 FROM models WHERE job_id = $1 AND round = 1 AND kind = 'weights'", [plain])).rows[0];
      if (!weights) await new Promise((r) => setTimeout(r, 100));
    }
    const requested = await api('researcher', 'POST', `/v1/jobs/${plain}/releases`, { round: 1, reason: 'development model' });
    expect(requested.body).toMatchObject({ state: 'requested', decryptingSite: null, countersigningSite: null });
    for (const site of ['site-b', 'site-c']) {
      const answer = await approveAsSteward(site, requested.body as unknown as ReleaseShown);
      expect(answer.body.state).toBe('requested');
      // A plaintext job has no key ceremony: the coordinator knows no steward key to check the signature against.
      expect(answer.body.approvals.find((a: { site: string }) => a.site === site)).toMatchObject({ signedBy: keys.get(site)!.steward.thumbprint, keyChecked: false });
    }
    // The compliance approval through the CLI: the last approval releases the model at once.
    const approved = await runCli(['model', 'release', 'approve', requested.body.id, '--coordinator', t.coordinator.rest, '--token', tokens.auditor!]);
    expect([approved.code, approved.stdout]).toEqual([0, expect.stringContaining(`${requested.body.id}  RELEASED`)]);
    const released = (await api('researcher', 'GET', `/v1/releases/${requested.body.id}`)).body;
    expect(released).toMatchObject({ state: 'released', sha256: weights!.sha256, byteSize: P * 4 });
    expect(released.leafIndex).toEqual(expect.any(Number));
    const out = join(stateRoot, 'plain-bundle');
    await exportReleasedModelBundle({ coordinator: t.coordinator.rest, credential: { token: tokens.researcher! }, release: released.id, out });
    expect(sha256Hex(await readFile(join(out, 'model.bin')))).toBe(weights!.sha256);
    const events = await releaseEvents(released.id, plain);
    expect(events.map((e) => e.action)).toEqual([
      'release.request', 'release.approve', 'release.approve', 'release.approve', 'release.approve', 'model.release',
    ]);
    // Whoever holds the job key: nobody is asked to decrypt a plaintext job's model.
    for (const id of SITES) expect((await poll(id))?.kind).not.toBe(TaskKind.TASK_KIND_RELEASE);
  }, 120_000);
});
