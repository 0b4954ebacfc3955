import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { encodeEncryptedVector, encryptUpdate, parameterCount, type JobSpec, type PinnedSite, type Task } from '@medfed/proto';
import {
  createSoftwareAttester, generateAttestationKey, keyReleasePurposeDigest, keyReleaseStatement, publicAttestationJwk, type Attester,
} from '@medfed/proto/attestation/index';
import { appendAuditEvent, appendInTransaction, KeyReleaseGate, SqlNonceStore } from '@medfed/coordinator';
import { CoordinatorClient } from '@medfed/node-agent/transport/client';
import { ensureSiteKeys, pinsOf, type SiteKeys } from '@medfed/node-agent/custody/site-keys';
import { JobKeyStore } from '@medfed/node-agent/custody/job-key-store';
import { runKeyTask, type KeyTask } from '@medfed/node-agent/tasks/key-task';
import { fetchAttestedJobKey } from '@medfed/node-agent/tasks/key-release';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';
import { codeOf } from '../support/error-code.js';

const SITES = ['site-a', 'site-b', 'site-c'];
const P = parameterCount(4, [3], 2);
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
/** The approved trainer build and the sandbox policy the sites report. */
const TRAINER = sha('approved trainer build');
const POLICY = sha('sandbox policy');
const SANDBOX = { trainerDigest: TRAINER, policyDigest: POLICY, sandboxed: true };

describe('an encrypted job key is released only against a verified attestation (real coordinator, gRPC, PostgreSQL)', () => {
  let t: TestCoordinator;
  let stateRoot: string;
  let jobId: string;
  let epoch: number;
  const clients = new Map<string, CoordinatorClient>();
  const keys = new Map<string, SiteKeys>();
  const attesters = new Map<string, Attester>();
  const tasks = new Map<string, Task>();

  /** A key-release attestation by `site`'s attester (or `by`'s), for a nonce fetched by `site`. */
  async function attest(site: string, changes: { by?: string; trainerDigest?: string; sandboxed?: boolean; nonce?: string } = {}) {
    const nonce = changes.nonce ?? (await clients.get(site)!.requestKeyReleaseNonce(site, jobId)).nonce;
    return attesters.get(changes.by ?? site)!.attest(keyReleaseStatement(
      { trainerDigest: changes.trainerDigest ?? TRAINER, sandboxPolicyDigest: POLICY, sandboxed: changes.sandboxed ?? true },
      { site, job: jobId, epoch, nonce },
    ));
  }

  async function keyReleaseEvents(): Promise<{ outcome: string; rule: string; details: Record<string, unknown>; site: string }[]> {
    const { rows } = await t.coordinator.db.query<{ outcome: string; event: string }>(
      "SELECT outcome, event FROM audit_events WHERE action = 'key.release' AND job = $1 ORDER BY seq", [jobId]);
    return rows.map((r) => {
      const e = JSON.parse(r.event) as { rule: string; details: Record<string, unknown>; site: string };
      return { outcome: r.outcome, rule: e.rule, details: e.details, site: e.site };
    });
  }

  beforeAll(async () => {
    t = await startTestCoordinator('postgres');
    stateRoot = await mkdtemp(join(tmpdir(), 'medfed-key-release-'));
    for (const id of SITES) {
      await t.coordinator.engine.registerSite(id, id);
      keys.set(id, await ensureSiteKeys(join(stateRoot, id)));
      const attestationKey = generateAttestationKey();
      attesters.set(id, createSoftwareAttester(attestationKey));
      clients.set(id, new CoordinatorClient(t.coordinator.grpc));
      await clients.get(id)!.enroll(id, 'test', 'test', keys.get(id)!.keyAgreement.publicJwk, publicAttestationJwk(attestationKey));
    }
    jobId = (await t.coordinator.engine.createJob(specFor([TRAINER]), 'tester')).id;
    for (const [id, task] of await runCeremony(jobId)) tasks.set(id, task);
    expect(tasks.size).toBe(SITES.length);
    epoch = (JSON.parse(tasks.get('site-a')!.encryptionJson) as { epoch: number }).epoch;
  }, 60_000);

  function specFor(trainerAllowlist: string[]): JobSpec {
    return {
      name: 'key-release', features: ['a', 'b', 'c', 'd'], label: 'y', classes: ['n', 'y'], model: { hidden: [3], activation: 'relu' },
      training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 1 }, rounds: 1, minSites: 3,
      roundDeadlineSeconds: 120, strategy: { name: 'fedavg' }, sites: SITES, standardization: 'none',
      encryption: { enabled: true, paramSet: 'bfv-n4096-q60-t48-2x23', clipNorm: 1, fracBits: 0 },
      ...(trainerAllowlist.length > 0 ? { trainerAllowlist } : {}),
    };
  }

  /** Runs the job's key ceremony at every site; returns each site's first round task. */
  async function runCeremony(job: string): Promise<Map<string, Task>> {
    const tasks = new Map<string, Task>();
    const pinned = new Map<string, PinnedSite>(SITES.map((id) => {
      const p = pinsOf(id, keys.get(id)!);
      return [id, { stewardKeyThumbprint: p.stewardKeyThumbprint, keyAgreementKeyThumbprint: p.keyAgreementKeyThumbprint }];
    }));
    for (let guard = 0; tasks.size < SITES.length && guard < 50; guard++) {
      for (const id of SITES) {
        if (tasks.has(id)) continue;
        const client = clients.get(id)!;
        const task = (await client.pollTask(id, 200)).task;
        if (!task) continue;
        if (!task.keyTaskJson) { tasks.set(id, task); continue; }
        await runKeyTask(job, JSON.parse(task.keyTaskJson) as KeyTask, {
          siteId: id, keys: keys.get(id)!, pinned, autoApprove: true, log: pino({ level: 'silent' }),
          submitSignature: async (jws) => { await client.submitSiteListSignature(id, job, jws); },
          submitKeyMaterial: async (pp, w) => { await client.submitKeyMaterial(id, job, pp, w); },
        });
      }
    }
    return tasks;
  }

  afterAll(async () => {
    for (const c of clients.values()) c.close();
    await t.stop();
    await rm(stateRoot, { recursive: true, force: true });
  });

  it('refuses a fetch without an attestation, with a wrong measurement, signed by another node, or with a nonce never issued; each refusal is audited', async () => {
    const a = clients.get('site-a')!;
    expect(await codeOf(a.fetchJobKey('site-a', jobId))).toBe('KEY_RELEASE_UNATTESTED');
    expect(await codeOf(a.fetchJobKey('site-a', jobId, await attest('site-a', { trainerDigest: sha('some other trainer') })))).toBe('ATTESTATION_MEASUREMENT_UNKNOWN');
    // site-b's attestation key signs a statement naming site-a: only site-a's registered key is tried.
    expect(await codeOf(a.fetchJobKey('site-a', jobId, await attest('site-a', { by: 'site-b' })))).toBe('ATTESTATION_SIGNATURE_INVALID');
    // The nonce must come from the coordinator: one it never issued is refused.
    expect(await codeOf(a.fetchJobKey('site-a', jobId, await attest('site-a', { nonce: 'A'.repeat(43) })))).toBe('ATTESTATION_NONCE_UNKNOWN');

    const events = await keyReleaseEvents();
    expect(events.map((e) => [e.outcome, e.rule, e.details.verdict])).toEqual([
      ['denied', 'attestation:KEY_RELEASE_UNATTESTED', 'fail'],
      ['denied', 'attestation:ATTESTATION_MEASUREMENT_UNKNOWN', 'fail'],
      ['denied', 'attestation:ATTESTATION_SIGNATURE_INVALID', 'fail'],
      ['denied', 'attestation:ATTESTATION_NONCE_UNKNOWN', 'fail'],
    ]);
    expect(events[1]!.details.measurement).toBe(sha('some other trainer'));
    expect(events.every((e) => e.site === 'site-a' && e.details.reason === e.rule.slice('attestation:'.length))).toBe(true);
  });

  it('releases the key to a valid attestation (it unwraps at the site) and refuses the same attestation replayed', async () => {
    const a = clients.get('site-a')!;
    const before = (await keyReleaseEvents()).length;
    const attestation = await attest('site-a');
    const released = await a.fetchJobKey('site-a', jobId, attestation);
    expect(released.epoch).toBe(epoch);
    const enc = JSON.parse(tasks.get('site-a')!.encryptionJson) as { epoch: number; paramSet: string; keyId: string };
    const store = new JobKeyStore(join(stateRoot, 'site-a'), 'site-a', keys.get('site-a')!);
    const { key } = await store.get(jobId, enc.epoch, enc.paramSet, enc.keyId, async () =>
      ({ epoch: released.epoch, paramSet: released.paramSet, keyId: released.keyId, jwe: released.wrappedKey }));
    expect(key.keyId).toBe(enc.keyId);

    expect(await codeOf(a.fetchJobKey('site-a', jobId, attestation))).toBe('ATTESTATION_NONCE_REPLAYED');
    const events = (await keyReleaseEvents()).slice(before);
    expect(events.map((e) => [e.outcome, e.rule])).toEqual([
      ['success', 'attestation:sandboxed'],
      ['denied', 'attestation:ATTESTATION_NONCE_REPLAYED'],
    ]);
    expect(events[0]!.details).toMatchObject({ verdict: 'pass', measurement: TRAINER, key_id: enc.keyId, job: jobId });
  });

  it('keeps training and key-release nonces apart: neither can stand in for the other', async () => {
    const b = clients.get('site-b')!;
    const task = tasks.get('site-b')!;
    expect(task.attestationNonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The training nonce (same job, site and, here, the same number as the epoch) does not unlock the key.
    expect(task.round).toBe(epoch);
    expect(await codeOf(b.fetchJobKey('site-b', jobId, await attest('site-b', { nonce: task.attestationNonce })))).toBe('ATTESTATION_NONCE_UNKNOWN');

    // The agent's own path: a fresh key-release nonce, attested by its attester, then FetchJobKey.
    const wrapped = await fetchAttestedJobKey({ client: b, siteId: 'site-b', attester: attesters.get('site-b')!, sandbox: SANDBOX }, jobId);
    const enc = JSON.parse(task.encryptionJson) as { epoch: number; paramSet: string; keyId: string; clipNorm: number; fracBits: number; maxSites: number; weight: number };
    const store = new JobKeyStore(join(stateRoot, 'site-b'), 'site-b', keys.get('site-b')!);
    const { ctx, key } = await store.get(jobId, enc.epoch, enc.paramSet, enc.keyId, async () => wrapped);

    // A key-release nonce does not stand in for a training nonce: an update attested with one is refused.
    const payload = encodeEncryptedVector(encryptUpdate(ctx, key, new Float32Array(P).fill(0.01), {
      weight: enc.weight, clip: enc.clipNorm, fracBits: enc.fracBits, maxSites: enc.maxSites }));
    const { nonce } = await b.requestKeyReleaseNonce('site-b', jobId);
    const modelManifest = await t.coordinator.publisher.manifestDigestOf(task.modelId) ?? task.modelSha256;
    const updateAttestation = await attesters.get('site-b')!.attest({
      site: 'site-b', job: jobId, round: task.round, nonce, trainerDigest: TRAINER, sandboxPolicyDigest: POLICY,
      manifestDigest: modelManifest, updateSha256: createHash('sha256').update(payload).digest('hex'), sandboxed: true,
    });
    expect(await codeOf(b.submitUpdate({
      siteId: 'site-b', jobId, round: task.round, submissionId: 's-b', numSamples: 10, baseModelId: task.modelId, attestation: updateAttestation,
    }, payload))).toBe('ATTESTATION_NONCE_UNKNOWN');

    // With the round's own nonce the same update is accepted. Each submission is one audit event that
    // carries its attestation verdict; no separate attestation.verdict event.
    const accepted = await attesters.get('site-b')!.attest({
      site: 'site-b', job: jobId, round: task.round, nonce: task.attestationNonce, trainerDigest: TRAINER, sandboxPolicyDigest: POLICY,
      manifestDigest: modelManifest, updateSha256: createHash('sha256').update(payload).digest('hex'), sandboxed: true,
    });
    await b.submitUpdate({
      siteId: 'site-b', jobId, round: task.round, submissionId: 's-b', numSamples: 10, baseModelId: task.modelId, attestation: accepted,
    }, payload);
    const { rows } = await t.coordinator.db.query<{ action: string; outcome: string; event: string }>(
      "SELECT action, outcome, event FROM audit_events WHERE job = $1 AND site = 'site-b' AND action IN ('submission.receive', 'attestation.verdict') ORDER BY seq", [jobId]);
    expect(rows.map((r) => [r.action, r.outcome, (JSON.parse(r.event) as { details: Record<string, unknown> }).details])).toEqual([
      ['submission.receive', 'denied', expect.objectContaining({ verdict: 'fail', reason: 'ATTESTATION_NONCE_UNKNOWN' })],
      ['submission.receive', 'success', expect.objectContaining({ verdict: 'pass', measurement: TRAINER, sandboxed: true })],
    ]);
  });

  it('refuses an unsandboxed attestation in production and accepts a sandboxed one (same job, same database)', async () => {
    const db = t.coordinator.db;
    const production = new KeyReleaseGate({
      db, nonces: new SqlNonceStore(db), env: 'production',
      audit: { inTransaction: async (tx, e) => { await appendInTransaction(tx, e); }, append: async (e) => { await appendAuditEvent(db, e); } },
    });
    const unsandboxedNonce = (await production.issueNonce('site-a', jobId)).nonce;
    const unsandboxed = await attest('site-a', { sandboxed: false, nonce: unsandboxedNonce });
    expect(await codeOf(production.verify('site-a', jobId, unsandboxed))).toBe('ATTESTATION_UNSANDBOXED');
    expect((await keyReleaseEvents()).at(-1)).toMatchObject({ outcome: 'denied', rule: 'attestation:ATTESTATION_UNSANDBOXED' });

    // Refused before the nonce check, so the node's nonce is not burnt by the refusal; a sandboxed attestation passes.
    const verdict = await production.verify('site-a', jobId, await attest('site-a', { nonce: unsandboxedNonce }));
    expect(verdict).toMatchObject({ epoch, rule: 'attestation:sandboxed', details: { verdict: 'pass', measurement: TRAINER } });
    // The purpose digest is fixed and documented: sha256("medfed-key-release:<job>:<epoch>").
    expect(keyReleasePurposeDigest(jobId, epoch)).toBe(sha(`medfed-key-release:${jobId}:${epoch}`));
  });

  it('releases the key of a development job without a trainer allowlist unattested, and says so in the audit trail', async () => {
    // The first job is done with; its tasks would otherwise come first at every poll.
    await t.coordinator.engine.stopJob(jobId, 'tester');
    const devJob = (await t.coordinator.engine.createJob(specFor([]), 'tester')).id;
    const devTasks = await runCeremony(devJob);
    expect(devTasks.get('site-c')).toMatchObject({ jobId: devJob, attestationNonce: '' });
    const released = await clients.get('site-c')!.fetchJobKey('site-c', devJob);
    expect(released.wrappedKey.split('.')).toHaveLength(5);
    const { rows } = await t.coordinator.db.query<{ event: string }>(
      "SELECT event FROM audit_events WHERE action = 'key.release' AND job = $1 ORDER BY seq", [devJob]);
    expect(rows.map((r) => JSON.parse(r.event) as { rule: string; details: Record<string, unknown> })).toEqual([
      expect.objectContaining({ rule: 'custody:unattested-development', details: expect.objectContaining({ reason: 'UNATTESTED_DEVELOPMENT' }) }),
    ]);
  });
});
