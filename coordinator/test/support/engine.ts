import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeVector, sha256Hex, type JobSpec } from '@medfed/proto';
import { MemoryNonceStore } from '../../src/attestation/memory-nonce-store.js';
import { AuditWriter } from '../../src/audit/writer.js';
import { RequestEvents } from '../../src/audit/request-events.js';
import type { BlobStore } from '../../src/blobs/blob-store.js';
import { FileBlobStore } from '../../src/blobs/file-blob-store.js';
import { PgBlobStore } from '../../src/blobs/pg-blob-store.js';
import { FederationEngine } from '../../src/federation/engine.js';
import { freshDatabase, type Backend, type TestDb } from './databases.js';

/** A federation engine over a fresh database and blob store, with the real audit chain and nonce store. */
export interface TestEngine {
  readonly engine: FederationEngine;
  readonly t: TestDb;
  readonly blobs: BlobStore;
  /** Background failures the engine reported (a test that expects none checks this is empty). */
  readonly problems: unknown[];
  close(): Promise<void>;
}

export async function testEngine(backend: Backend): Promise<TestEngine> {
  const t = await freshDatabase(backend);
  const dir = await mkdtemp(join(tmpdir(), 'medfed-engine-'));
  const blobs = backend === 'postgres' ? new PgBlobStore(t.db) : new FileBlobStore(join(dir, 'blobs'));
  const writer = new AuditWriter(t.db);
  const engine = new FederationEngine(t.db, blobs, { audit: new RequestEvents(t.db, writer).recorder(), nonces: new MemoryNonceStore() });
  const problems: unknown[] = [];
  engine.events.on('problem', (err: unknown) => problems.push(err));
  return {
    engine, t, blobs, problems,
    async close() {
      await writer.close();
      await t.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Registers sites and enrolls each with a real X25519 key-agreement key (what an encrypted job's ceremony needs). */
export async function enrollSites(engine: FederationEngine, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    await engine.registerSite(id, id);
    const { x } = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' });
    await engine.enroll(id, '0.1.0', 'ab'.repeat(32), { kty: 'OKP', crv: 'X25519', x: x! });
  }
}

/** A small job: two features, two classes, logistic regression (6 parameters). */
export function jobSpec(over: Partial<JobSpec> & Pick<JobSpec, 'sites'>): JobSpec {
  return {
    name: 'strategy-test', features: ['f1', 'f2'], label: 'y', classes: ['n', 'y'], model: { hidden: [], activation: 'relu' },
    training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 7 }, rounds: 2, minSites: 1,
    roundDeadlineSeconds: 600, strategy: { name: 'fedavg' }, standardization: 'none',
    encryption: { enabled: false, paramSet: 'bfv-n4096-q60-t48-2x23', clipNorm: 5, fracBits: 0 },
    ...over,
  };
}

/** Polls the site's task for the job and submits `payload` as its update (or statistics) for that round. */
export async function submit(engine: FederationEngine, siteId: string, jobId: string, numSamples: number, payload: Uint8Array): Promise<number> {
  const task = await engine.pollTask(siteId);
  if (!task || task.jobId !== jobId) throw new Error(`site ${siteId} has no task of job ${jobId}`);
  const bytes = Buffer.from(payload);
  await engine.acceptUpdate({
    siteId, jobId, round: task.round, submissionId: `${jobId}:${task.round}:${siteId}`, numSamples, byteSize: bytes.byteLength,
    sha256: sha256Hex(bytes), baseModelId: task.modelId ?? '',
  }, bytes);
  return task.round;
}

export const f32 = (values: number[]): Uint8Array => encodeVector(Float32Array.from(values));
