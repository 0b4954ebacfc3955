import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeVector, parameterCount, type JobSpec } from '@medfed/proto';
import { noteSigner, noteVerifier, parseNote, signCheckpoint } from '@medfed/proto/tlog/index';
import { CoordinatorClient } from '@medfed/node-agent/transport/client';
import { createModelVerifier, expectedArtifact, type ModelVerifier } from '@medfed/node-agent/verification/index';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';
import { codeOf } from '../support/error-code.js';

const SITES = ['site-a', 'site-b', 'site-c'];
const P = parameterCount(3, [], 2);

const spec = (): JobSpec => ({
  name: 'publishing', features: ['f1', 'f2', 'f3'], label: 'y', classes: ['no', 'yes'],
  model: { hidden: [], activation: 'relu' },
  training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 7 },
  rounds: 2, minSites: 2, roundDeadlineSeconds: 30, strategy: { name: 'fedavg' }, sites: SITES, standardization: 'none',
});

describe('signed model distribution over real gRPC: every download is verified before load', () => {
  let t: TestCoordinator;
  let work: string;
  let trust: { manifestJwks: string; checkpointKey: string };
  const clients = new Map<string, CoordinatorClient>();

  async function agentClient(site: string, stateDir: string): Promise<{ client: CoordinatorClient; verifier: ModelVerifier }> {
    const client = new CoordinatorClient(t.coordinator.grpc);
    const verifier = await createModelVerifier({
      env: 'production', siteId: site, stateDir, trust,
      submitCosignature: async (c) => { await client.submitCosignature(site, c); },
      onWarning: (m, err) => { throw new Error(`${m}: ${String(err)}`); },
    });
    client.verifier = verifier;
    return { client, verifier };
  }

  beforeAll(async () => {
    t = await startTestCoordinator('pglite');
    work = await mkdtemp(join(tmpdir(), 'medfed-publishing-'));
    const jwksFile = join(work, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify(t.coordinator.publisher.jwks()));
    trust = { manifestJwks: jwksFile, checkpointKey: t.coordinator.publisher.checkpointKey };
    for (const s of SITES) {
      await t.coordinator.engine.registerSite(s, s);
      const { client } = await agentClient(s, join(work, s));
      await client.enroll(s, 'test', 'digest'); // sends the witness vkey
      clients.set(s, client);
    }
  });
  afterAll(async () => {
    for (const c of clients.values()) c.close();
    await t.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('refuses a production agent without pinned anchors', async () => {
    const err = await createModelVerifier({ env: 'production', siteId: 'site-a', stateDir: join(work, 'bare'), onWarning: () => {} }).catch((e: unknown) => e);
    expect((err as { code: string }).code).toBe('TRUST_ANCHORS_MISSING');
  });

  it('verifies each download, co-signs the checkpoints, and refuses tampering, other jobs, older rounds and rollbacks', async () => {
    const a = clients.get('site-a')!;
    const job = await t.coordinator.engine.createJob(spec(), 'tester');
    const task = (await a.pollTask('site-a', 1000)).task!;
    // Round 1 starts from the initial model: verified, and the checkpoint is co-signed by site-a.
    const m0 = await a.downloadModel('site-a', job.id, task.modelId, task.modelSha256, expectedArtifact({ round: task.modelRound, kind: 'weights' }));
    expect(m0.header.manifestJws.split('.')).toHaveLength(3);
    expect(a.verifier!.manifestDigestOf(task.modelId)).toMatch(/^[0-9a-f]{64}$/);
    const witnessName = noteVerifier(a.verifier!.witnessVkey).name;
    await new Promise((r) => setTimeout(r, 1000));
    const stored = await t.coordinator.publisher.tlog.latestCheckpoint();
    expect(parseNote(stored!.note).signatures.map((s) => s.name)).toContain(witnessName);

    // A download that names no expectation is refused before anything is fetched.
    expect(await codeOf(a.downloadModel('site-a', job.id, task.modelId, task.modelSha256))).toBe('TRUST_EXPECTATION_MISSING');

    // Round 1 closes with every site's update; its model is the next link of the job's manifest chain.
    for (const s of SITES) {
      const c = clients.get(s)!;
      const tk = (await c.pollTask(s, 1000)).task!;
      const delta = new Float32Array(P).fill(s === 'site-a' ? 0.01 : -0.02);
      await c.submitUpdate({ siteId: s, jobId: job.id, round: 1, submissionId: `${s}-1`, numSamples: 10, baseModelId: tk.modelId, attestation: '' }, encodeVector(delta));
    }
    let next = (await a.pollTask('site-a', 5000)).task;
    for (let i = 0; i < 50 && next?.round !== 2; i++) next = (await a.pollTask('site-a', 1000)).task;
    expect(next?.round).toBe(2);
    if (!next) return;
    const before = a.verifier!.knownTreeSize();
    const m1 = await a.downloadModel('site-a', job.id, next.modelId, next.modelSha256, expectedArtifact({ round: 1, kind: 'weights' }));
    expect(m1.header.round).toBe(1);
    expect(a.verifier!.knownTreeSize()).toBeGreaterThan(before);
    const manifest1 = JSON.parse(Buffer.from(m1.header.manifestJws.split('.')[1]!, 'base64url').toString('utf8')) as { previousManifest: string; contributors: { site: string }[] };
    expect(manifest1.previousManifest).toBe(a.verifier!.manifestDigestOf(task.modelId));
    expect(manifest1.contributors.map((c) => c.site)).toEqual(SITES);

    // An older round replayed where round 1 is expected.
    expect(await codeOf(a.downloadModel('site-a', job.id, task.modelId, task.modelSha256, expectedArtifact({ round: 1, kind: 'weights' })))).toBe('MANIFEST_STALE_ROUND');
    // Another job's model where this job's is expected.
    const other = await t.coordinator.engine.createJob({ ...spec(), name: 'other' }, 'tester');
    const { rows } = await t.coordinator.db.query<{ id: string; sha256: string }>('SELECT id, sha256 FROM models WHERE job_id = $1 AND round = 0', [other.id]);
    expect(await codeOf(a.downloadModel('site-a', other.id, rows[0]!.id, rows[0]!.sha256, { ...expectedArtifact({ round: 0, kind: 'weights' }), job: job.id }))).toBe('MANIFEST_WRONG_JOB');

    // A tampered blob on the coordinator's disk: same length, one byte flipped.
    const { rows: [row] } = await t.coordinator.db.query<{ blob_key: string }>('SELECT blob_key FROM models WHERE id = $1', [next.modelId]);
    const path = join(t.dataDir, 'blobs', ...row!.blob_key.split('/'));
    const original = await readFile(path);
    const tampered = Buffer.from(original);
    tampered[tampered.length - 1] ^= 0x01;
    await writeFile(path, tampered);
    try {
      expect(await codeOf(a.downloadModel('site-a', job.id, next.modelId, next.modelSha256, expectedArtifact({ round: 1, kind: 'weights' })))).toBe('ARTIFACT_DIGEST_MISMATCH');
    } finally {
      await writeFile(path, original);
    }

    // A rolled-back log: this site once saw a larger tree (signed by the log's key) than the log now shows.
    const size = (await t.coordinator.publisher.tlog.log.head()).size;
    const signer = noteSigner((await readFile(join(t.dataDir, 'keys', 'tlog', 'log.key'), 'utf8')).trim());
    const seen = await signCheckpoint({ origin: signer.name, size: size + 10, rootHash: randomBytes(32), extensions: [] }, signer);
    const rolledDir = join(work, 'rolled-back');
    await mkdir(join(rolledDir, 'verification'), { recursive: true });
    await writeFile(join(rolledDir, 'verification', 'checkpoint.txt'), seen);
    const rolled = await agentClient('site-a', rolledDir);
    try {
      expect(await codeOf(rolled.client.downloadModel('site-a', job.id, next.modelId, next.modelSha256, expectedArtifact({ round: 1, kind: 'weights' })))).toBe('TLOG_ROLLBACK');
    } finally {
      rolled.client.close();
    }
    // After all refusals the genuine model still verifies.
    expect((await a.downloadModel('site-a', job.id, next.modelId, next.modelSha256, expectedArtifact({ round: 1, kind: 'weights' }))).bytes.equals(original)).toBe(true);
  });

  it('serves checkpoints and proofs over REST to authorised roles', async () => {
    const c = t.coordinator;
    const get = (path: string) => fetch(`${c.rest}${path}`, { headers: { authorization: `Bearer ${c.adminToken}` } });
    const cp = await (await get('/v1/log/checkpoint')).json() as { tree_size: number; checkpoint: string; log_key: string };
    expect(cp.log_key).toBe(c.publisher.checkpointKey);
    expect(cp.tree_size).toBeGreaterThan(1);
    const inc = await (await get(`/v1/log/proofs/inclusion?leaf_index=0&tree_size=${cp.tree_size}`)).json() as { hashes: string[] };
    expect(inc.hashes.length).toBeGreaterThan(0);
    const con = await (await get(`/v1/log/proofs/consistency?from=1&to=${cp.tree_size}`)).json() as { hashes: string[] };
    expect(con.hashes.length).toBeGreaterThan(0);
    expect((await get('/v1/log/proofs/inclusion?leaf_index=x')).status).toBe(400);
    expect((await fetch(`${c.rest}/v1/log/checkpoint`)).status).toBe(401);
    const jwks = await (await fetch(`${c.rest}/.well-known/jwks.json`)).json() as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual(expect.arrayContaining(c.publisher.jwks().keys.map((k) => k.kid)));
  });
});
