import { createHash } from 'node:crypto';
import type { InclusionProof, ModelBundleParts, VerifyModelBundleOptions } from '../../src/bundle/index.js';
import { ed25519Signer, generateManifestKeyPair, signManifest, type Manifest, type ManifestKeyPair } from '../../src/manifest/index.js';
import { MemoryTreeStore, MerkleLog, NOTE_KEY_TYPE, Witness, generateNoteKey, noteSigner, signCheckpoint, toHex } from '../../src/tlog/index.js';

export const ORIGIN = 'coordinator.medfed.example/log';
export const NOW = 1_750_000_000;
const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export interface Published {
  readonly model: Uint8Array;
  readonly manifest: Manifest;
  readonly jws: string;
  readonly index: number;
}

/**
 * A coordinator with a transparency log, two witnesses and a site that last saw an earlier
 * checkpoint: everything one valid bundle needs, plus the older and foreign artifacts the
 * tampering fixtures replay.
 */
export async function buildWorld() {
  const current = await generateManifestKeyPair('coordinator-2025');
  const retired = await generateManifestKeyPair('coordinator-2024');
  const stranger = await generateManifestKeyPair('stranger');
  const logKey = generateNoteKey(ORIGIN);
  const witnessKeys = [1, 2].map((i) => generateNoteKey(`witness.example/w${i}`, NOTE_KEY_TYPE.COSIGNATURE_V1));
  const witnesses = witnessKeys.map((k) => new Witness({ signer: k.signerKey, logs: [logKey.verifierKey], now: () => NOW }));
  const signer = await ed25519Signer(current.privateJwk);
  const log = new MerkleLog(new MemoryTreeStore());

  const model = (tag: string, size = 4096) => {
    const out = Buffer.alloc(size);
    for (let i = 0; i < size; i++) out[i] = createHash('sha256').update(`${tag}/${i >> 5}`).digest()[i & 31]!;
    return out;
  };
  let previous: string | null = null;
  const publish = async (job: string, round: number, kind: Manifest['kind'] = 'encrypted-global-model', withKey = signer): Promise<Published> => {
    const bytes = model(`${job}/${round}/${kind}`);
    const manifest: Manifest = {
      version: 1,
      kind,
      job,
      round,
      blobs: [{ name: 'model.bin', sha256: sha256Hex(bytes), size: bytes.length }],
      previousManifest: previous,
      contributors: [{ site: 'site-a', sha256: sha256Hex(Buffer.from(`${job}/${round}/a`)) }, { site: 'site-b', sha256: sha256Hex(Buffer.from(`${job}/${round}/b`)) }],
      paramsDigest: sha256Hex(Buffer.from('ckks-8192')),
      policyVersion: '2025.1',
      issuedAt: `2025-06-0${round}T12:00:00Z`,
    };
    const jws = await signManifest(manifest, withKey);
    previous = createHash('sha256').update(jws).digest('hex');
    const { firstIndex } = await log.append([Buffer.from(jws)]);
    return { model: bytes, manifest, jws, index: firstIndex };
  };
  const checkpoint = async (cosign: boolean, fromSize?: number) => {
    const head = await log.head();
    let note = await signCheckpoint({ origin: ORIGIN, size: head.size, rootHash: head.rootHash, extensions: [] }, noteSigner(logKey.signerKey));
    if (cosign) {
      const proof = fromSize === undefined ? [] : await log.consistencyProof(fromSize, head.size);
      for (const w of witnesses) note = await w.cosign(note, proof);
    }
    return { size: head.size, note };
  };

  const round1 = await publish('job-7', 1, 'encrypted-global-model', await ed25519Signer(retired.privateJwk));
  const oldCheckpoint = await checkpoint(true);
  const round2 = await publish('job-7', 2);
  const otherJob = await publish('job-9', 3);
  const allowlist = await publish('job-7', 3, 'trainer-allowlist');
  const seen = await checkpoint(true, oldCheckpoint.size); // what the site saw last
  const target = await publish('job-7', 3);
  for (let i = 0; i < 5; i++) await publish(`job-filler-${i}`, 1);
  const latest = await checkpoint(true, seen.size);

  const jwks = { keys: [current.publicJwk, retired.publicJwk] };
  const proofFor = async (p: Published): Promise<InclusionProof> => ({ leafIndex: p.index, treeSize: latest.size, hashes: await log.inclusionProof(p.index, latest.size) });
  const partsFor = async (p: Published): Promise<ModelBundleParts> => ({
    model: p.model,
    manifestJws: p.jws,
    checkpoint: latest.note,
    inclusionProof: await proofFor(p),
    jwks,
    checkpointVerifierKey: logKey.verifierKey,
  });
  const consistencyProof = (await log.consistencyProof(seen.size, latest.size)).map(toHex);
  const options: VerifyModelBundleOptions = {
    expected: { job: 'job-7', round: 3 },
    trustedKeys: jwks,
    checkpointVerifierKey: logKey.verifierKey,
    witnessKeys: witnesses.map((w) => w.verifierKey),
    requiredCosignatures: 2,
    previousCheckpoint: seen.note,
    consistencyProof,
    now: NOW,
  };
  return {
    keys: { current, retired, stranger, logKey, witnessKeys },
    witnesses,
    log,
    signer,
    publish,
    checkpoint,
    published: { round1, round2, otherJob, allowlist, target },
    checkpoints: { old: oldCheckpoint, seen, latest },
    parts: await partsFor(target),
    partsFor,
    options,
  };
}

export type World = Awaited<ReturnType<typeof buildWorld>>;
export type { ManifestKeyPair };
