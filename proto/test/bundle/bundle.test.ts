import { readFile, readdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BUNDLE_FILES, verifyModelArtifact, verifyModelBundle, writeModelBundle } from '../../src/bundle/index.js';
import { buildWorld, NOW, type World } from './world.js';

describe('model bundle format and verification', () => {
  let world: World;
  let root: string;
  beforeAll(async () => {
    world = await buildWorld();
    root = await mkdtemp(join(tmpdir(), 'medfed-bundle-fmt-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes exactly the six named files, in their documented formats', async () => {
    const dir = join(root, 'format');
    await writeModelBundle(dir, world.parts);
    expect((await readdir(dir)).sort()).toEqual(Object.values(BUNDLE_FILES).sort());
    const proof = JSON.parse(await readFile(join(dir, BUNDLE_FILES.inclusionProof), 'utf8'));
    expect(Object.keys(proof)).toEqual(['leaf_index', 'tree_size', 'hashes']);
    expect(proof.hashes.every((h: string) => /^[0-9a-f]{64}$/.test(h))).toBe(true);
    expect((await readFile(join(dir, BUNDLE_FILES.checkpointKey), 'utf8')).trim()).toBe(world.keys.logKey.verifierKey);
    expect(await readFile(join(dir, BUNDLE_FILES.checkpoint), 'utf8')).toBe(world.checkpoints.latest.note);
    expect(JSON.parse(await readFile(join(dir, BUNDLE_FILES.jwks), 'utf8')).keys.map((k: { kid: string }) => k.kid)).toEqual(['coordinator-2025', 'coordinator-2024']);
  });

  it('refuses to overwrite an existing bundle unless asked', async () => {
    const dir = join(root, 'twice');
    await writeModelBundle(dir, world.parts);
    await expect(writeModelBundle(dir, world.parts)).rejects.toMatchObject({ code: 'BUNDLE_EXISTS' });
    await expect(writeModelBundle(dir, world.parts, { overwrite: true })).resolves.toBeUndefined();
  });

  it('verifies on first use without a previous checkpoint, with the bundle\'s own anchors, and says so', async () => {
    const dir = join(root, 'unpinned');
    await writeModelBundle(dir, world.parts);
    const ok = await verifyModelBundle(dir, { expected: { job: 'job-7', round: 3 } });
    expect(ok.anchors).toEqual({ manifestKeys: 'bundle', logKey: 'bundle' });
    expect(ok.anchorDigests.checkpointKey).toMatch(/^[0-9a-f]{64}$/);
    expect(ok.cosignatures).toEqual([]);
  });

  it('verifies an old round signed by a retired key that the JWKS still lists', async () => {
    const dir = join(root, 'retired');
    await writeModelBundle(dir, await world.partsFor(world.published.round1));
    const ok = await verifyModelBundle(dir, { ...world.options, expected: { job: 'job-7', round: 1 } });
    expect(ok.kid).toBe('coordinator-2024');
  });

  it('returns the very buffer it hashed: rewriting model.bin afterwards does not change what is loaded', async () => {
    const dir = join(root, 'toctou');
    await writeModelBundle(dir, world.parts);
    const ok = await verifyModelBundle(dir, world.options);
    await writeFile(join(dir, BUNDLE_FILES.model), Buffer.from('swapped after verification'));
    expect(Buffer.from(ok.bytes)).toEqual(Buffer.from(world.published.target.model));
  });

  it('verifies in memory, and refuses a blob name the manifest does not list', async () => {
    const input = {
      bytes: world.parts.model,
      manifestJws: world.parts.manifestJws,
      checkpoint: world.parts.checkpoint,
      inclusionProof: world.parts.inclusionProof,
      trustedKeys: world.parts.jwks,
      checkpointVerifierKey: world.parts.checkpointVerifierKey,
      witnessKeys: world.options.witnessKeys!,
      requiredCosignatures: 2,
      expected: { job: 'job-7', round: 3 },
      previousCheckpoint: world.checkpoints.seen.note,
      consistencyProof: world.options.consistencyProof!,
      now: NOW,
    };
    const ok = await verifyModelArtifact(input);
    expect(ok.blob.name).toBe('model.bin');
    expect(ok.checkpointNote).toBe(world.checkpoints.latest.note);
    await expect(verifyModelArtifact({ ...input, expected: { job: 'job-7', round: 3, blob: 'weights.bin' } })).rejects.toMatchObject({ code: 'ARTIFACT_BLOB_UNKNOWN' });
    await expect(verifyModelArtifact({ ...input, requiredCosignatures: 1, witnessKeys: [] })).rejects.toMatchObject({ code: 'COSIGNATURES_INSUFFICIENT' });
  });

  it('accepts the same checkpoint the site already saw (equal size, equal root, empty proof)', async () => {
    const parts = { ...world.parts, checkpoint: world.checkpoints.latest.note };
    const dir = join(root, 'same');
    await writeModelBundle(dir, parts);
    const ok = await verifyModelBundle(dir, { ...world.options, previousCheckpoint: world.checkpoints.latest.note, consistencyProof: [] });
    expect(ok.checkpoint.size).toBe(world.checkpoints.latest.size);
  });
});
