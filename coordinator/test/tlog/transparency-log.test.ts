import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { verifyModelBundle, writeModelBundle } from '@medfed/proto/bundle/index';
import { ed25519Signer, generateManifestKeyPair, signManifest, type Manifest } from '@medfed/proto/manifest/index';
import { NOTE_KEY_TYPE, Witness, generateNoteKey, noteSigner, signCheckpoint, verifyCheckpoint, verifyConsistency, verifyCosignatures } from '@medfed/proto/tlog/index';
import { createHash } from 'node:crypto';
import { BACKENDS, freshDatabase, type TestDb } from '../support/databases.js';
import { TransparencyLog } from '../../src/tlog/transparency-log.js';

const ORIGIN = 'coordinator.test/log';
const logKey = generateNoteKey(ORIGIN);
const witnessKey = generateNoteKey('witness.test/w1', NOTE_KEY_TYPE.COSIGNATURE_V1);

describe.each(BACKENDS)('TransparencyLog on %s', (backend) => {
  let t: TestDb;
  let tlog: TransparencyLog;
  let dir: string;
  beforeAll(async () => {
    t = await freshDatabase(backend);
    tlog = new TransparencyLog({ db: t.db, signer: noteSigner(logKey.signerKey), maxBatch: 16 });
    dir = await mkdtemp(join(tmpdir(), 'medfed-tlog-'));
  });
  afterAll(async () => {
    await t.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('group-commits concurrent appends into few transactions, one index each', async () => {
    const indices = await Promise.all(Array.from({ length: 100 }, (_, i) => tlog.append(`leaf ${i}`)));
    expect([...indices].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    // Each leaf ended up where its index says.
    for (const i of [0, 37, 99]) expect(Buffer.from((await tlog.log.leaf(indices[i]!))!).toString()).toBe(`leaf ${i}`);
  });

  it('signs, stores and reuses checkpoints, and proves each later one consistent with the earlier', async () => {
    const first = await tlog.checkpoint();
    expect(first.size).toBe(100);
    expect((await tlog.checkpoint()).note).toBe(first.note);
    const { index, checkpoint } = await tlog.appendLeaf(Buffer.from('audit anchor'));
    expect(index).toBe(100);
    const second = verifyCheckpoint(checkpoint, tlog.verifierKey).checkpoint;
    expect(second.size).toBe(101);
    const earlier = verifyCheckpoint(first.note, tlog.verifierKey).checkpoint;
    verifyConsistency(earlier.size, second.size, await tlog.consistencyProof(100, 101), earlier.rootHash, second.rootHash);
    expect((await tlog.latestCheckpoint())?.size).toBe(101);
  });

  it('merges witness cosignatures into the stored checkpoint and refuses a foreign one', async () => {
    const witness = new Witness({ signer: witnessKey.signerKey, logs: [tlog.verifierKey] });
    const latest = (await tlog.latestCheckpoint())!;
    const stored = await tlog.addCosignatures(await witness.cosign(latest.note, []));
    expect(verifyCosignatures(stored.note, { witnessKeys: [witness.verifierKey], required: 1 })).toHaveLength(1);
    expect((await tlog.checkpointAt(latest.size))?.note).toBe(stored.note);
    const head = await tlog.log.head();
    const impostor = await signCheckpoint({ origin: ORIGIN, size: head.size, rootHash: head.rootHash, extensions: [] }, noteSigner(generateNoteKey(ORIGIN).signerKey));
    await expect(tlog.addCosignatures(impostor)).rejects.toMatchObject({ code: 'CHECKPOINT_SIGNATURE_INVALID' });
    const other = await signCheckpoint({ origin: ORIGIN, size: head.size, rootHash: Buffer.alloc(32, 9), extensions: [] }, noteSigner(logKey.signerKey));
    await expect(tlog.addCosignatures(other)).rejects.toMatchObject({ code: 'TLOG_CONSISTENCY_INVALID' });
  });

  it('refuses to rewrite what a stored checkpoint states', async () => {
    await expect(t.db.query('UPDATE tlog_checkpoints SET size = size + 1000')).rejects.toThrow(/append-only/);
    await expect(t.db.query('DELETE FROM tlog_checkpoints')).rejects.toThrow(/append-only/);
  });

  it('exports a model bundle that a site verifies offline', async () => {
    const keys = await generateManifestKeyPair('coordinator-test');
    const model = Buffer.from('encrypted global model, round 2');
    const manifest: Manifest = {
      version: 1, kind: 'encrypted-global-model', job: 'job-1', round: 2,
      blobs: [{ name: 'model.bin', sha256: createHash('sha256').update(model).digest('hex'), size: model.length }],
      previousManifest: null, contributors: [], paramsDigest: null, policyVersion: '1', issuedAt: '2025-06-01T00:00:00Z',
    };
    const jws = await signManifest(manifest, await ed25519Signer(keys.privateJwk));
    await tlog.append(jws);
    const jwks = { keys: [keys.publicJwk] };
    const parts = await tlog.bundleParts({ model, manifestJws: jws, jwks });
    await writeModelBundle(join(dir, 'bundle'), parts);
    const ok = await verifyModelBundle(join(dir, 'bundle'), { expected: { job: 'job-1', round: 2 }, trustedKeys: jwks, checkpointVerifierKey: tlog.verifierKey });
    expect(ok.leafIndex).toBe(await tlog.findLeaf(jws));
    await expect(tlog.bundleParts({ model, manifestJws: `${jws}x`, jwks })).rejects.toMatchObject({ code: 'TLOG_INDEX_OUT_OF_RANGE' });
  });
});
