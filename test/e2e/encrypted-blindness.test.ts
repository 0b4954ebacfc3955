import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import {
  decryptAggregate, encodeEncryptedVector, encodeVector, encryptUpdate, parameterCount, readKeyFile, type JobSpec, type PinnedSite, type Task,
} from '@medfed/proto';
import { loadCoordinatorConfig, startCoordinator, type RunningCoordinator } from '@medfed/coordinator';
import { CoordinatorClient } from '@medfed/node-agent/transport/client';
import { ensureSiteKeys, pinsOf, type SiteKeys } from '@medfed/node-agent/custody/site-keys';
import { JobKeyStore } from '@medfed/node-agent/custody/job-key-store';
import { runKeyTask, type KeyTask } from '@medfed/node-agent/tasks/key-task';
import { fetchAttestedJobKey } from '@medfed/node-agent/tasks/key-release';
import { createSoftwareAttester, generateAttestationKey, publicAttestationJwk, type Attester } from '@medfed/proto/attestation/index';
import { freshDatabase, type TestDb } from '../../coordinator/test/support/databases.js';

const SITES = ['site-a', 'site-b', 'site-c'];
const P = parameterCount(4, [3], 2);
/** The approved trainer build the sites attest (keys are released, and updates accepted, only against it). */
const SANDBOX = { trainerDigest: 'ab'.repeat(32), policyDigest: 'cd'.repeat(32), sandboxed: true };

/** A recognisable update: no honest training produces these exact values. */
const planted = Float32Array.from({ length: P }, (_, i) => 0.4321 - i * 0.0007);

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

/** Every way a byte string could show up in storage, logs or a message. */
function encodings(bytes: Uint8Array): Buffer[] {
  const b = Buffer.from(bytes);
  return [b, Buffer.from(b.toString('hex')), Buffer.from(b.toString('base64').slice(0, 40)), Buffer.from(b.toString('base64url').slice(0, 40))];
}

describe('the coordinator is blind to updates and keys (encrypted job, real gRPC, PostgreSQL)', () => {
  let db: TestDb;
  let coordinator: RunningCoordinator;
  let dataDir: string;
  let stateRoot: string;
  const logFile = () => join(dataDir, 'coordinator.log');
  const clients = new Map<string, CoordinatorClient>();
  const keys = new Map<string, SiteKeys>();
  const attesters = new Map<string, Attester>();
  /** Everything the coordinator sent to site-b, as raw bytes. */
  const sentToB: Buffer[] = [];

  beforeAll(async () => {
    db = await freshDatabase('postgres', { migrate: false });
    dataDir = await mkdtemp(join(tmpdir(), 'medfed-blind-'));
    stateRoot = await mkdtemp(join(tmpdir(), 'medfed-blind-sites-'));
    const config = await loadCoordinatorConfig({ env: {}, overrides: {
      'rest.port': 0, 'grpc.port': 0, dataDir, databaseUrl: db.url, logLevel: 'trace', tickSeconds: 0.2, 'auth.allowAnonymousNodes': true,
    } });
    coordinator = await startCoordinator(config, pino({ level: 'trace' }, pino.destination({ dest: logFile(), sync: true })));
    for (const id of SITES) {
      await coordinator.engine.registerSite(id, id);
      keys.set(id, await ensureSiteKeys(join(stateRoot, id)));
      clients.set(id, new CoordinatorClient(coordinator.grpc));
      const attestationKey = generateAttestationKey();
      attesters.set(id, createSoftwareAttester(attestationKey));
      await clients.get(id)!.enroll(id, 'test', 'test', keys.get(id)!.keyAgreement.publicJwk, publicAttestationJwk(attestationKey));
    }
  });

  afterAll(async () => {
    for (const c of clients.values()) c.close();
    await coordinator.close();
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(stateRoot, { recursive: true, force: true });
  });

  it('sums a planted update it cannot read; neither the update nor any secret key appears in what it stores, logs or sends', async () => {
    const spec: JobSpec = {
      name: 'blindness', features: ['a', 'b', 'c', 'd'], label: 'y', classes: ['n', 'y'], model: { hidden: [3], activation: 'relu' },
      training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 1 }, rounds: 1, minSites: 3,
      roundDeadlineSeconds: 120, strategy: { name: 'fedavg' }, sites: SITES, standardization: 'none',
      encryption: { enabled: true, paramSet: 'bfv-n4096-q60-t48-2x23', clipNorm: 1, fracBits: 0 },
      trainerAllowlist: [SANDBOX.trainerDigest],
    };
    const job = await coordinator.engine.createJob(spec, 'tester');
    const pinned = new Map<string, PinnedSite>(SITES.map((id) => {
      const p = pinsOf(id, keys.get(id)!);
      return [id, { stewardKeyThumbprint: p.stewardKeyThumbprint, keyAgreementKeyThumbprint: p.keyAgreementKeyThumbprint }];
    }));
    const tasks = new Map<string, Task>();
    for (let guard = 0; tasks.size < SITES.length && guard < 50; guard++) {
      for (const id of SITES) {
        if (tasks.has(id)) continue;
        const client = clients.get(id)!;
        const task = (await client.pollTask(id, 200)).task;
        if (!task) continue;
        if (id === 'site-b') sentToB.push(Buffer.from(JSON.stringify(task)));
        if (!task.keyTaskJson) { tasks.set(id, task); continue; }
        await runKeyTask(job.id, JSON.parse(task.keyTaskJson) as KeyTask, {
          siteId: id, keys: keys.get(id)!, pinned, autoApprove: true, log: pino({ level: 'silent' }),
          submitSignature: async (jws) => { await client.submitSiteListSignature(id, job.id, jws); },
          submitKeyMaterial: async (pp, w) => { await client.submitKeyMaterial(id, job.id, pp, w); },
        });
      }
    }
    expect(tasks.size).toBe(3);

    const updates = new Map<string, Float32Array>([
      ['site-a', planted],
      ['site-b', Float32Array.from({ length: P }, (_, i) => Math.sin(i) / 20)],
      ['site-c', Float32Array.from({ length: P }, (_, i) => Math.cos(i) / 20)],
    ]);
    const stores = new Map<string, JobKeyStore>();
    const uploaded = new Map<string, Uint8Array>();
    for (const id of SITES) {
      const task = tasks.get(id)!;
      const enc = JSON.parse(task.encryptionJson) as { epoch: number; paramSet: string; keyId: string; clipNorm: number; fracBits: number; maxSites: number; weight: number };
      const store = new JobKeyStore(join(stateRoot, id), id, keys.get(id)!);
      stores.set(id, store);
      const client = clients.get(id)!;
      const { ctx, key } = await store.get(job.id, enc.epoch, enc.paramSet, enc.keyId, async () => {
        const k = await fetchAttestedJobKey({ client, siteId: id, attester: attesters.get(id)!, sandbox: SANDBOX }, job.id);
        if (id === 'site-b') sentToB.push(Buffer.from(JSON.stringify(k)));
        return k;
      });
      const payload = encodeEncryptedVector(encryptUpdate(ctx, key, updates.get(id)!, {
        weight: enc.weight, clip: enc.clipNorm, fracBits: enc.fracBits, maxSites: enc.maxSites }));
      uploaded.set(id, payload);
      const attestation = await attesters.get(id)!.attest({
        site: id, job: job.id, round: 1, nonce: task.attestationNonce, trainerDigest: SANDBOX.trainerDigest, sandboxPolicyDigest: SANDBOX.policyDigest,
        manifestDigest: (await coordinator.publisher.manifestDigestOf(task.modelId)) ?? task.modelSha256,
        updateSha256: createHash('sha256').update(payload).digest('hex'), sandboxed: true,
      });
      await client.submitUpdate({ siteId: id, jobId: job.id, round: 1, submissionId: `s-${id}`, numSamples: 10, baseModelId: task.modelId, attestation }, payload);
    }

    // The round closes with an encrypted sum; site-b downloads and decrypts it: the pipeline works.
    let next: Task | undefined;
    for (let i = 0; i < 100 && !next; i++) next = (await clients.get('site-b')!.pollTask('site-b', 300)).task;
    expect(next?.round).toBe(2);
    sentToB.push(Buffer.from(JSON.stringify(next)));
    const chain = JSON.parse(next!.modelChainJson) as { modelId: string; sha256: string; totalWeight: number }[];
    const sumLink = chain.at(-1)!;
    const sum = await clients.get('site-b')!.downloadModel('site-b', job.id, sumLink.modelId, sumLink.sha256);
    sentToB.push(sum.bytes);
    const enc = JSON.parse(tasks.get('site-b')!.encryptionJson) as { epoch: number; paramSet: string; keyId: string };
    const { ctx, key } = await stores.get('site-b')!.get(job.id, enc.epoch, enc.paramSet, enc.keyId, async () => { throw new Error('cached'); });
    const average = decryptAggregate(ctx, key, sum.bytes, { totalWeight: sumLink.totalWeight });
    for (let i = 0; i < P; i++) {
      const want = (planted[i]! + updates.get('site-b')![i]! + updates.get('site-c')![i]!) / 3;
      expect(Math.abs(average[i]! - want)).toBeLessThan(1e-4);
    }

    // What must never be visible to the coordinator:
    const secrets: [string, Buffer[]][] = [
      ['planted update (float32)', encodings(encodeVector(planted).subarray(0, 48))],
      ['planted update (float64)', encodings(encodeVector(Float64Array.from(planted)).subarray(0, 48))],
      ['planted value as text', [Buffer.from(String(planted[5]!)), Buffer.from(planted[5]!.toFixed(6))]],
    ];
    for (const id of SITES) {
      const record = await readKeyFile(join(stateRoot, id, 'he-keys', `${job.id}-e${enc.epoch}.key`));
      secrets.push([`HE secret key held by ${id}`, encodings(record.secretKey.subarray(200, 248))]);
      const d = (await import('node:fs/promises')).readFile(join(stateRoot, id, 'custody', 'key-agreement.jwk'), 'utf8');
      secrets.push([`key-agreement private key of ${id}`, [Buffer.from((JSON.parse(await d) as { jwk: { d: string } }).jwk.d)]]);
    }

    // Everything the coordinator stored (database rows, blobs), logged, and sent to site-b.
    const { rows: tables } = await db.db.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
    const haystacks: [string, Buffer][] = [];
    for (const { tablename } of tables) {
      const { rows } = await db.db.query<{ r: string }>(`SELECT row_to_json(t)::text AS r FROM "${tablename}" t`);
      haystacks.push([`table ${tablename}`, Buffer.from(rows.map((r) => r.r).join('\n'))]);
    }
    // On PostgreSQL the payloads live in the database (blob_chunks), read here as raw bytes, not as JSON text.
    const { rows: chunks } = await db.db.query<{ key: string; seq: number; data: Buffer }>('SELECT key, seq, data FROM blob_chunks ORDER BY key, seq');
    expect(chunks.some((c) => c.key.startsWith('updates/'))).toBe(true);
    for (const key of new Set(chunks.map((c) => c.key))) haystacks.push([`blob ${key}`, Buffer.concat(chunks.filter((c) => c.key === key).map((c) => c.data))]);
    const stored = await filesUnder(dataDir);
    for (const f of stored) haystacks.push([f, await readFile(f)]);
    sentToB.forEach((b, i) => haystacks.push([`message ${i} to site-b`, b]));
    expect(haystacks.find(([n]) => n === 'table contributions')?.[1].length).toBeGreaterThan(100);

    // Control: the scan does see what is really there (site-a's ciphertext bytes are in a stored blob).
    const control = Buffer.from(uploaded.get('site-a')!.subarray(4096, 4144));
    expect(haystacks.some(([, hay]) => hay.includes(control))).toBe(true);

    for (const [what, needles] of secrets) {
      for (const needle of needles) {
        for (const [where, hay] of haystacks) {
          if (hay.includes(needle)) throw new Error(`${what} found in ${where}`);
        }
      }
    }
  }, 120_000);
});
