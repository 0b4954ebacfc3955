import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import {
  decryptAggregate, encodeEncryptedVector, encryptUpdate, parameterCount, type HePublicParams, type JobSpec, type PinnedSite, type Task,
} from '@medfed/proto';
import { canonicalBytes } from '@medfed/proto/audit/index';
import { verifyManifest } from '@medfed/proto/manifest/index';
import { CoordinatorClient } from '@medfed/node-agent/transport/client';
import { ensureSiteKeys, pinsOf, type SiteKeys } from '@medfed/node-agent/custody/site-keys';
import { JobKeyStore, type WrappedJobKey } from '@medfed/node-agent/custody/job-key-store';
import { runKeyTask, type KeyTask } from '@medfed/node-agent/tasks/key-task';
import { checkPublicParams } from '@medfed/node-agent/verification/public-params';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';
import { runCli } from '../support/cli.js';

/**
 * Key epochs end to end (real gRPC, PostgreSQL, node-seal, jose): four enrolled sites, an encrypted
 * job with three; a site joins (epoch 2, wrapped for four, the joiner gets epoch 1's key to read
 * the history), a site leaves (epoch 3 without it: its FetchJobKey for epoch 3 is refused), and
 * `medfed keys ceremony` rotates (epoch 4), the leaver rejoins (epoch 5 hands it epochs 3-4) and is
 * then suspended, which counts as leaving (epoch 6). At every step every site decrypts every round sum of
 * the chain with the key of that sum's epoch, and the sum is the average of what was uploaded.
 */
const SITES = ['site-a', 'site-b', 'site-c', 'site-d'];
const P = parameterCount(4, [3], 2);

/** A site's update for a round: distinct per site and round, well inside the clip norm. */
function updateOf(site: string, round: number): Float32Array {
  const s = SITES.indexOf(site) + 1;
  return Float32Array.from({ length: P }, (_, i) => Math.sin(s * 7 + round * 3 + i) / 40);
}

interface Link { modelId: string; round: number; sha256: string; kind: string; totalWeight: number | null; contributors: string[] | null; epoch?: number; keyId?: string }
interface Enc {
  epoch: number; paramSet: string; keyId: string; clipNorm: number; fracBits: number; maxSites: number; weight: number;
  publicParams?: HePublicParams; publicParamsManifest?: string;
}

describe('key epochs: a site joins, a site leaves, an operator rotates (encrypted job)', () => {
  let t: TestCoordinator;
  const clients = new Map<string, CoordinatorClient>();
  const keys = new Map<string, SiteKeys>();
  const stores = new Map<string, JobKeyStore>();
  let stateRoot: string;
  let pinned: Map<string, PinnedSite>;

  const fetchKey = (site: string, jobId: string, epoch: number) => async (): Promise<WrappedJobKey> => {
    const k = await clients.get(site)!.fetchJobKey(site, jobId, '', epoch);
    return { epoch: k.epoch, paramSet: k.paramSet, keyId: k.keyId, jwe: k.wrappedKey };
  };

  beforeAll(async () => {
    t = await startTestCoordinator('postgres');
    stateRoot = await mkdtemp(join(tmpdir(), 'medfed-epochs-'));
    for (const id of SITES) {
      await t.coordinator.engine.registerSite(id, id);
      keys.set(id, await ensureSiteKeys(join(stateRoot, id)));
      clients.set(id, new CoordinatorClient(t.coordinator.grpc));
      stores.set(id, new JobKeyStore(join(stateRoot, id), id, keys.get(id)!));
      await clients.get(id)!.enroll(id, 'test', 'test', keys.get(id)!.keyAgreement.publicJwk);
    }
    pinned = new Map(SITES.map((id) => {
      const p = pinsOf(id, keys.get(id)!);
      return [id, { stewardKeyThumbprint: p.stewardKeyThumbprint, keyAgreementKeyThumbprint: p.keyAgreementKeyThumbprint }];
    }));
  }, 60_000);

  afterAll(async () => {
    for (const c of clients.values()) c.close();
    await t?.stop();
    await rm(stateRoot, { recursive: true, force: true });
  });

  /** Polls the participants, doing their key-ceremony steps, until each holds its task for `round`. */
  async function tasksFor(jobId: string, participants: string[], round: number): Promise<Map<string, Task>> {
    const tasks = new Map<string, Task>();
    for (let guard = 0; tasks.size < participants.length && guard < 200; guard++) {
      for (const id of participants) {
        if (tasks.has(id)) continue;
        const client = clients.get(id)!;
        const task = (await client.pollTask(id, 100)).task;
        if (!task || task.jobId !== jobId) continue;
        if (!task.keyTaskJson) {
          if (task.round === round) tasks.set(id, task);
          continue;
        }
        await runKeyTask(jobId, JSON.parse(task.keyTaskJson) as KeyTask, {
          siteId: id, keys: keys.get(id)!, pinned, autoApprove: true, log: pino({ level: 'silent' }),
          submitSignature: async (jws) => { await client.submitSiteListSignature(id, jobId, jws); },
          submitKeyMaterial: async (pp, w, h) => { await client.submitKeyMaterial(id, jobId, pp, w, h); },
          earlierKey: (epoch, keyId, paramSet) => stores.get(id)!.exportKey(jobId, epoch, paramSet, keyId, fetchKey(id, jobId, epoch)),
        });
      }
    }
    expect([...tasks.keys()].sort()).toEqual([...participants].sort());
    return tasks;
  }

  /** Every site encrypts its update under the task's epoch and submits it. */
  async function train(jobId: string, tasks: Map<string, Task>, expectedEpoch: number): Promise<void> {
    for (const [id, task] of tasks) {
      const enc = JSON.parse(task.encryptionJson) as Enc;
      expect(enc.epoch).toBe(expectedEpoch);
      // The epoch's public parameters come with their signed manifest, as an agent with pinned keys checks them.
      const anchors = { jwks: t.coordinator.publisher.jwks(), checkpointKey: t.coordinator.publisher.checkpointKey, witnesses: { keys: [], required: 0 } };
      await checkPublicParams(anchors, { job: jobId, epoch: enc.epoch, paramSet: enc.paramSet, keyId: enc.keyId }, enc.publicParams, enc.publicParamsManifest);
      const { ctx, key } = await stores.get(id)!.get(jobId, enc.epoch, enc.paramSet, enc.keyId, fetchKey(id, jobId, enc.epoch));
      const payload = encodeEncryptedVector(encryptUpdate(ctx, key, updateOf(id, task.round), {
        weight: enc.weight, clip: enc.clipNorm, fracBits: enc.fracBits, maxSites: enc.maxSites }));
      await clients.get(id)!.submitUpdate({ siteId: id, jobId, round: task.round, submissionId: `s-${id}-${task.round}`, numSamples: 10, baseModelId: task.modelId, attestation: '' }, payload);
    }
  }

  /** Each site decrypts every round sum in its task's chain with that sum's epoch key; each is the contributors' average. */
  async function checkChain(jobId: string, tasks: Map<string, Task>, expectedEpochs: Record<number, number>): Promise<void> {
    for (const [id, task] of tasks) {
      const enc = JSON.parse(task.encryptionJson) as Enc;
      const sums = (JSON.parse(task.modelChainJson) as Link[]).filter((l) => l.kind === 'update-sum');
      expect(Object.fromEntries(sums.map((l) => [l.round, l.epoch]))).toEqual(expectedEpochs);
      for (const link of sums) {
        const { ctx, key } = await stores.get(id)!.get(jobId, link.epoch!, enc.paramSet, link.keyId!, fetchKey(id, jobId, link.epoch!));
        const sum = await clients.get(id)!.downloadModel(id, jobId, link.modelId, link.sha256);
        const average = decryptAggregate(ctx, key, sum.bytes, { totalWeight: link.totalWeight! });
        const contributors = link.contributors!;
        for (let i = 0; i < P; i++) {
          const want = contributors.reduce((s, c) => s + updateOf(c, link.round)[i]!, 0) / contributors.length;
          expect(Math.abs(average[i]! - want)).toBeLessThan(1e-4);
        }
      }
    }
  }

  async function waitForRound(jobId: string, round: number): Promise<void> {
    for (let i = 0; i < 1200; i++) {
      const job = await t.coordinator.engine.job(jobId);
      const rounds = await t.coordinator.engine.rounds(jobId);
      if (job.current_round === round && rounds.find((r) => r.round === round)?.status === 'open') return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`round ${round} of ${jobId} never opened`);
  }

  async function rest(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const c = t.coordinator;
    const res = await fetch(`${c.rest}${path}`, {
      method, headers: { authorization: `Bearer ${c.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('re-keys on join, leave, rotation, rejoin and suspension; every site decrypts the whole history; a leaver gets no new key', async () => {
    const engine = t.coordinator.engine;
    const spec: JobSpec = {
      name: 'epochs', features: ['a', 'b', 'c', 'd'], label: 'y', classes: ['n', 'y'], model: { hidden: [3], activation: 'relu' },
      training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 1 }, rounds: 4, minSites: 3,
      roundDeadlineSeconds: 120, strategy: { name: 'fedavg' }, sites: ['site-a', 'site-b', 'site-c'], standardization: 'none',
      // 16 fractional bits leave lane room for a fourth summand.
      encryption: { enabled: true, paramSet: 'bfv-n4096-q60-t48-2x23', clipNorm: 1, fracBits: 16 },
    };
    const job = await engine.createJob(spec, 'tester');

    // Epoch 1: three sites; round 1 trains.
    await train(job.id, await tasksFor(job.id, ['site-a', 'site-b', 'site-c'], 1), 1);
    await waitForRound(job.id, 2);

    // site-d joins: epoch 2 for four sites; the open round 2 is superseded and round 3 trains under epoch 2.
    const joined = await rest('POST', `/v1/jobs/${job.id}/sites`, { siteId: 'site-d' });
    expect(joined.status).toBe(201);
    expect(joined.body.epoch).toMatchObject({ epoch: 2, status: 'signing', reason: 'SITE_JOINED', joiners: ['site-d'], generatingSite: 'site-a' });
    expect((await rest('POST', `/v1/jobs/${job.id}/sites`, { siteId: 'site-d' })).body.code).toBe('VALIDATION_FAILED');
    expect((await engine.rounds(job.id)).find((r) => r.round === 2)?.status).toBe('failed');
    const round3 = await tasksFor(job.id, SITES, 3);
    await checkChain(job.id, round3, { 1: 1 }); // site-d reads round 1 with the epoch-1 key wrapped for it in epoch 2
    await train(job.id, round3, 2);
    await waitForRound(job.id, 4);

    // site-b leaves: epoch 3 without it; its key request for epoch 3 is refused, its earlier keys stay its own.
    const left = await rest('DELETE', `/v1/jobs/${job.id}/sites/site-b`);
    expect(left.status).toBe(200);
    expect(left.body.epoch).toMatchObject({ epoch: 3, reason: 'SITE_LEFT', sites: ['site-a', 'site-c', 'site-d'], joiners: [] });
    const remaining = ['site-a', 'site-c', 'site-d'];
    const round5 = await tasksFor(job.id, remaining, 5);
    await expect(clients.get('site-b')!.fetchJobKey('site-b', job.id, '', 3)).rejects.toMatchObject({ code: 'KEY_EPOCH_NOT_HELD' });
    expect((await clients.get('site-b')!.fetchJobKey('site-b', job.id, '', 2)).epoch).toBe(2);
    expect((await clients.get('site-b')!.pollTask('site-b', 50)).task).toBeUndefined();
    await checkChain(job.id, round5, { 1: 1, 3: 2 });
    await train(job.id, round5, 3);
    await waitForRound(job.id, 6);

    // An operator rotates the keys with the CLI: epoch 4 for the same three sites.
    const c = t.coordinator;
    const cli = await runCli(['keys', 'ceremony', '--job', job.id, '--coordinator', c.rest, '--key-file', c.adminKeyFile, '--format', 'json']);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    const rotated = JSON.parse(cli.stdout) as { epoch: { epoch: number; status: string; reason: string; sites: string[] } };
    expect(rotated.epoch).toMatchObject({ epoch: 4, status: 'signing', reason: 'ROTATION', sites: remaining });
    const round7 = await tasksFor(job.id, remaining, 7);
    await checkChain(job.id, round7, { 1: 1, 3: 2, 5: 3 });
    expect((JSON.parse(round7.get('site-a')!.encryptionJson) as Enc).epoch).toBe(4);

    const status = await runCli(['keys', 'status', '--job', job.id, '--coordinator', c.rest, '--key-file', c.adminKeyFile]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/epoch 4 {2}ready {2}ROTATION/);
    expect(status.stdout).toMatch(/epoch 2 {2}ready {2}SITE_JOINED .*earlier keys wrapped for site-d/);

    // site-b comes back: it still holds epochs 1-2, so epoch 5 wraps epochs 3-4 for it, and it reads the whole chain.
    const rejoined = await rest('POST', `/v1/jobs/${job.id}/sites`, { siteId: 'site-b' });
    expect(rejoined.body.epoch).toMatchObject({ epoch: 5, reason: 'SITE_JOINED', joiners: ['site-b'] });
    const round8 = await tasksFor(job.id, SITES, 8);
    await checkChain(job.id, round8, { 1: 1, 3: 2, 5: 3 });

    // A suspended site counts as leaving: the coordinator's tick starts epoch 6 without it.
    expect((await rest('POST', '/v1/sites/site-b/suspend', {})).status).toBe(200);
    let sixth;
    for (let i = 0; i < 600 && !sixth; i++) {
      sixth = (await engine.jobKeys(job.id)).epochs.find((e) => e.epoch === 6);
      if (!sixth) await new Promise((r) => setTimeout(r, 50));
    }
    expect(sixth).toMatchObject({ reason: 'SITE_SUSPENDED', sites: remaining });
    expect((await engine.job(job.id)).spec.sites).toEqual(remaining);

    // Each epoch's public parameters are published as a signed manifest whose blob is their canonical JSON.
    const { rows: epochs } = await c.db.query<{ epoch: number; public_params: HePublicParams }>(
      `SELECT epoch, public_params FROM job_keys WHERE job_id = $1 AND status = 'ready' ORDER BY epoch`, [job.id]);
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4, 5]);
    const { rows: manifests } = await c.db.query<{ model_id: string; jws: string }>(
      `SELECT model_id, jws FROM model_manifests WHERE job_id = $1 AND kind = 'he-public-params' ORDER BY chain_seq`, [job.id]);
    expect(manifests.map((m) => m.model_id)).toEqual(epochs.map((e) => `he-params-${job.id}-e${e.epoch}`));
    for (const [i, m] of manifests.entries()) {
      const verified = await verifyManifest(m.jws, c.publisher.jwks());
      expect(verified.manifest.kind).toBe('he-public-params');
      expect(verified.manifest.paramsDigest).toBe(epochs[i]!.public_params.paramsDigest);
      expect(verified.manifest.blobs[0]!.sha256).toBe(createHash('sha256').update(canonicalBytes(epochs[i]!.public_params)).digest('hex'));
    }

    // The audit trail names every ceremony start and completion, and the membership changes.
    const { rows: events } = await c.db.query<{ action: string; event: string }>(
      `SELECT action, event FROM audit_events WHERE action IN ('key.ceremony.start', 'key.ceremony', 'job.sites.change') ORDER BY seq`);
    const audit = events.map((e) => ({ action: e.action, ...(JSON.parse(e.event) as { resource: string; details: Record<string, unknown> }) }))
      .filter((e) => e.resource === `job:${job.id}`);
    expect(audit.filter((e) => e.action === 'key.ceremony.start').map((e) => e.details.reason)).toEqual(['JOB_START', 'SITE_JOINED', 'SITE_LEFT', 'ROTATION', 'SITE_JOINED', 'SITE_SUSPENDED']);
    expect(audit.filter((e) => e.action === 'key.ceremony').map((e) => e.details.ceremony)).toEqual([1, 2, 3, 4, 5].map((n) => `${job.id}.epoch-${n}`));
    expect(audit.filter((e) => e.action === 'job.sites.change').map((e) => [e.details.site, e.details.reason])).toEqual([['site-d', 'SITE_JOINED'], ['site-b', 'SITE_LEFT'], ['site-b', 'SITE_JOINED'], ['site-b', 'SITE_SUSPENDED']]);

    // Leaving is refused when too few training sites would remain; a suspension then fails the job instead.
    expect((await rest('DELETE', `/v1/jobs/${job.id}/sites/site-c`)).body.code).toBe('KEY_EPOCH_CHANGE_REFUSED');
    expect((await rest('POST', '/v1/sites/site-c/suspend', {})).status).toBe(200);
    let failed = await engine.job(job.id);
    for (let i = 0; i < 600 && failed.status === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      failed = await engine.job(job.id);
    }
    expect(failed.status).toBe('failed');
    expect(failed.failure).toMatch(/site-c was suspended/);
  }, 240_000);

  it('refuses a joiner that would overflow the encoding lanes, and a rotation of a plaintext job', async () => {
    const engine = t.coordinator.engine;
    const base: JobSpec = {
      name: 'tight', features: ['a'], label: 'y', classes: ['n', 'y'], model: { hidden: [], activation: 'relu' },
      training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 1 }, rounds: 2, minSites: 3,
      roundDeadlineSeconds: 120, strategy: { name: 'fedavg' }, sites: ['site-a', 'site-c', 'site-d'], standardization: 'none',
      encryption: { enabled: true, paramSet: 'bfv-n4096-q60-t48-2x23', clipNorm: 1, fracBits: 0 },
    };
    for (const site of ['site-b', 'site-c']) expect((await rest('POST', `/v1/sites/${site}/reinstate`, {})).status).toBe(200);
    // fracBits 0: the most precise encoding for three summands, with no room for a fourth.
    const tight = await engine.createJob(base, 'tester');
    const refused = await rest('POST', `/v1/jobs/${tight.id}/sites`, { siteId: 'site-b' });
    expect(refused).toMatchObject({ status: 409, body: { code: 'KEY_EPOCH_CHANGE_REFUSED' } });
    expect(refused.body.message).toMatch(/overflows the lanes/);
    // An evaluator adds no summand: it may join.
    expect((await rest('POST', `/v1/jobs/${tight.id}/sites`, { siteId: 'site-b', role: 'evaluator' })).body.epoch).toMatchObject({ epoch: 2, sites: ['site-a', 'site-c', 'site-d', 'site-b'] });
    const plaintext = await engine.createJob({ ...base, name: 'plain', encryption: { ...base.encryption!, enabled: false } }, 'tester');
    const rotation = await runCli(['keys', 'ceremony', '--job', plaintext.id, '--coordinator', t.coordinator.rest, '--key-file', t.coordinator.adminKeyFile]);
    expect(rotation.code).not.toBe(0);
    expect(rotation.stderr).toMatch(/KEY_EPOCH_CHANGE_REFUSED/);
    expect((await rest('GET', `/v1/jobs/${tight.id}/keys`)).body).toMatchObject({
      encrypted: true,
      // Epoch 1 never finished its ceremony: the join superseded it.
      epochs: [{ epoch: 1, reason: 'JOB_START', status: 'superseded' }, { epoch: 2, reason: 'SITE_JOINED', status: 'signing' }],
    });
  }, 120_000);
});
