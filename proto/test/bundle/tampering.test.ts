import { createPrivateKey, sign } from 'node:crypto';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JWK } from 'jose';
import { BUNDLE_FILES, verifyModelBundle, writeModelBundle, type ModelBundleParts, type VerifyModelBundleOptions } from '../../src/bundle/index.js';
import { MANIFEST_TYP } from '../../src/manifest/index.js';
import { MemoryTreeStore, MerkleLog, generateNoteKey, noteSigner, parseNote, signCheckpoint, toHex, formatNote } from '../../src/tlog/index.js';
import { ORIGIN, buildWorld, type World } from './world.js';

/**
 * One valid bundle, and a table of named tamperings, each refused with its own code. Every case is
 * written to disk with writeModelBundle and read back through verifyModelBundle, as a site would.
 */

interface Case {
  readonly parts: ModelBundleParts;
  readonly options: VerifyModelBundleOptions;
  /** Changes made to the files after writing (missing or unreadable files). */
  readonly onDisk?: (dir: string) => Promise<void>;
}
type Mutation = readonly [name: string, code: string, mutate: (c: Case, w: World) => Case | Promise<Case>];

const b64url = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const flipByte = (bytes: Uint8Array, offset: number) => {
  const copy = Buffer.from(bytes);
  copy[offset]! ^= 0x01;
  return copy;
};
const flipHex = (hex: string) => (hex[0] === '0' ? '1' : '0') + hex.slice(1);

/** A JWS whose payload was edited after signing (header and signature kept). */
function editPayload(jws: string, edit: (payload: Record<string, unknown>) => Record<string, unknown>): string {
  const [h, p, s] = jws.split('.') as [string, string, string];
  return `${h}.${b64url(edit(JSON.parse(Buffer.from(p, 'base64url').toString())))}.${s}`;
}
/** Signs any header and payload (RFC 7515 signing input) with a private JWK, bypassing every library check. */
function rawSign(privateJwk: JWK, header: Record<string, unknown>, payloadOf: string): string {
  const input = `${b64url(header)}.${payloadOf.split('.')[1]}`;
  return `${input}.${sign(null, Buffer.from(input), createPrivateKey({ key: privateJwk as never, format: 'jwk' })).toString('base64url')}`;
}
const withParts = (c: Case, parts: Partial<ModelBundleParts>): Case => ({ ...c, parts: { ...c.parts, ...parts } });
const withOptions = (c: Case, options: Partial<VerifyModelBundleOptions>): Case => ({ ...c, options: { ...c.options, ...options } });
const withProof = (c: Case, edit: (p: ModelBundleParts['inclusionProof']) => Partial<ModelBundleParts['inclusionProof']>): Case =>
  withParts(c, { inclusionProof: { ...c.parts.inclusionProof, ...edit(c.parts.inclusionProof) } });
const withoutSignatures = (note: string, keep: (name: string) => boolean) => {
  const parsed = parseNote(note);
  return formatNote({ text: parsed.text, signatures: parsed.signatures.filter((s) => keep(s.name)) });
};

/** A log that shares the site's view up to one leaf short, then diverges: what a split view needs. */
async function forkedLog(w: World) {
  const fork = new MerkleLog(new MemoryTreeStore());
  for (let i = 0; i < w.checkpoints.seen.size - 1; i++) await fork.append([(await w.log.leaf(i))!]);
  await fork.append([Buffer.from('a different history')]);
  const { firstIndex } = await fork.append([Buffer.from(w.published.target.jws)]);
  const head = await fork.head();
  const note = await signCheckpoint({ origin: ORIGIN, size: head.size, rootHash: head.rootHash, extensions: [] }, noteSigner(w.keys.logKey.signerKey));
  return { fork, head, note, index: firstIndex };
}

const BLOB_OFFSETS = [0, 1, 31, 32, 255, 1024, 2047, 2048, 4000, 4095];

const MUTATIONS: Mutation[] = [
  // The bytes about to be loaded.
  ...BLOB_OFFSETS.map((o): Mutation => [`model byte ${o} flipped`, 'ARTIFACT_DIGEST_MISMATCH', (c) => withParts(c, { model: flipByte(c.parts.model, o) })]),
  ['model truncated by one byte', 'ARTIFACT_DIGEST_MISMATCH', (c) => withParts(c, { model: c.parts.model.subarray(0, -1) })],
  ['model truncated to half', 'ARTIFACT_DIGEST_MISMATCH', (c) => withParts(c, { model: c.parts.model.subarray(0, 2048) })],
  ['model empty', 'ARTIFACT_DIGEST_MISMATCH', (c) => withParts(c, { model: new Uint8Array() })],
  ['model with a byte appended', 'ARTIFACT_DIGEST_MISMATCH', (c) => withParts(c, { model: Buffer.concat([c.parts.model, Buffer.from([0])]) })],
  ['model of round 2 under the round 3 manifest', 'ARTIFACT_DIGEST_MISMATCH', (c, w) => withParts(c, { model: w.published.round2.model })],

  // The manifest.
  ['manifest job edited', 'MANIFEST_SIGNATURE_INVALID', (c) => withParts(c, { manifestJws: editPayload(c.parts.manifestJws, (m) => ({ ...m, job: 'job-8' })) })],
  ['manifest round edited', 'MANIFEST_SIGNATURE_INVALID', (c) => withParts(c, { manifestJws: editPayload(c.parts.manifestJws, (m) => ({ ...m, round: 4 })) })],
  ['manifest digest edited to match a swapped model', 'MANIFEST_SIGNATURE_INVALID', (c, w) => withParts(c, {
    model: w.published.round2.model,
    manifestJws: editPayload(c.parts.manifestJws, (m) => ({ ...m, blobs: w.published.round2.manifest.blobs })),
  })],
  ['manifest contributors edited', 'MANIFEST_SIGNATURE_INVALID', (c) => withParts(c, { manifestJws: editPayload(c.parts.manifestJws, (m) => ({ ...m, contributors: [] })) })],
  ['manifest signature byte flipped', 'MANIFEST_SIGNATURE_INVALID', (c) => {
    const [h, p, s] = c.parts.manifestJws.split('.') as [string, string, string];
    return withParts(c, { manifestJws: `${h}.${p}.${flipByte(Buffer.from(s, 'base64url'), 10).toString('base64url')}` });
  }],
  ['manifest signed by an unknown key', 'MANIFEST_KEY_UNKNOWN', (c, w) =>
    withParts(c, { manifestJws: rawSign(w.keys.stranger.privateJwk, { alg: 'EdDSA', typ: MANIFEST_TYP, kid: 'stranger' }, c.parts.manifestJws) })],
  ['manifest signed by another key under the trusted kid', 'MANIFEST_SIGNATURE_INVALID', (c, w) =>
    withParts(c, { manifestJws: rawSign(w.keys.stranger.privateJwk, { alg: 'EdDSA', typ: MANIFEST_TYP, kid: 'coordinator-2025' }, c.parts.manifestJws) })],
  ['manifest with alg none', 'MANIFEST_ALG_INVALID', (c) =>
    withParts(c, { manifestJws: `${b64url({ alg: 'none', typ: MANIFEST_TYP, kid: 'coordinator-2025' })}.${c.parts.manifestJws.split('.')[1]}.` })],
  ['manifest with alg ES256', 'MANIFEST_ALG_INVALID', (c, w) =>
    withParts(c, { manifestJws: rawSign(w.keys.current.privateJwk, { alg: 'ES256', typ: MANIFEST_TYP, kid: 'coordinator-2025' }, c.parts.manifestJws) })],
  ['manifest with typ JWT (signed by the trusted key)', 'MANIFEST_TYP_INVALID', (c, w) =>
    withParts(c, { manifestJws: rawSign(w.keys.current.privateJwk, { alg: 'EdDSA', typ: 'JWT', kid: 'coordinator-2025' }, c.parts.manifestJws) })],
  ['manifest with a jku header', 'MANIFEST_HEADER_FORBIDDEN', (c, w) =>
    withParts(c, { manifestJws: rawSign(w.keys.current.privateJwk, { alg: 'EdDSA', typ: MANIFEST_TYP, kid: 'coordinator-2025', jku: 'https://attacker.example/jwks' }, c.parts.manifestJws) })],
  ['manifest that is not a JWS', 'MANIFEST_MALFORMED', (c) => withParts(c, { manifestJws: 'not a jws' })],
  ['pinned keys of another deployment', 'MANIFEST_KEY_UNKNOWN', (c, w) => withOptions(c, { trustedKeys: { keys: [w.keys.stranger.publicJwk] } })],

  // Inclusion in the log.
  ...[0, 1, 2, 3].map((i): Mutation => [`inclusion hash ${i} corrupted`, 'TLOG_INCLUSION_INVALID', (c) =>
    withProof(c, (p) => ({ hashes: p.hashes.map((h, j) => (j === i ? flipByte(h, 31) : h)) }))]),
  ...[0, 1, 2, 3].map((i): Mutation => [`inclusion hash ${i} removed`, 'TLOG_INCLUSION_INVALID', (c) =>
    withProof(c, (p) => ({ hashes: p.hashes.filter((_, j) => j !== i) }))]),
  ['inclusion hash added at the end', 'TLOG_INCLUSION_INVALID', (c) => withProof(c, (p) => ({ hashes: [...p.hashes, p.hashes[0]!] }))],
  ['inclusion hash added at the start', 'TLOG_INCLUSION_INVALID', (c) => withProof(c, (p) => ({ hashes: [p.hashes[0]!, ...p.hashes] }))],
  ['inclusion leaf index + 1', 'TLOG_INCLUSION_INVALID', (c) => withProof(c, (p) => ({ leafIndex: p.leafIndex + 1 }))],
  ['inclusion leaf index - 1', 'TLOG_INCLUSION_INVALID', (c) => withProof(c, (p) => ({ leafIndex: p.leafIndex - 1 }))],
  ['inclusion leaf index beyond the tree', 'TLOG_INCLUSION_INVALID', (c) => withProof(c, (p) => ({ leafIndex: p.treeSize }))],
  ['inclusion tree size - 1', 'TLOG_INCLUSION_INVALID', (c) => withProof(c, (p) => ({ treeSize: p.treeSize - 1 }))],
  ['inclusion tree size doubled', 'TLOG_INCLUSION_INVALID', (c) => withProof(c, (p) => ({ treeSize: p.treeSize * 2 }))],
  ['inclusion proof of another leaf', 'TLOG_INCLUSION_INVALID', async (c, w) => withParts(c, { inclusionProof: (await w.partsFor(w.published.round2)).inclusionProof })],
  ['a validly signed manifest that was never logged', 'TLOG_INCLUSION_INVALID', async (c, w) => {
    const unlogged = editPayload(c.parts.manifestJws, (m) => ({ ...m, issuedAt: '2025-06-09T00:00:00Z' }));
    return withParts(c, { manifestJws: rawSign(w.keys.current.privateJwk, { typ: MANIFEST_TYP, alg: 'EdDSA', kid: 'coordinator-2025' }, unlogged) });
  }],
  ['inclusion proof with a non-hex hash', 'TLOG_PROOF_MALFORMED', (c) => ({
    ...c,
    onDisk: (dir) => writeFile(join(dir, BUNDLE_FILES.inclusionProof), JSON.stringify({ leaf_index: 1, tree_size: 2, hashes: ['zz'] })),
  })],

  // The checkpoint and its signatures.
  ['checkpoint size edited', 'CHECKPOINT_SIGNATURE_INVALID', (c, w) =>
    withParts(c, { checkpoint: c.parts.checkpoint.replace(`\n${w.checkpoints.latest.size}\n`, `\n${w.checkpoints.latest.size + 1}\n`) })],
  ['checkpoint root edited', 'CHECKPOINT_SIGNATURE_INVALID', (c) => {
    const root = parseNote(c.parts.checkpoint).text.split('\n')[2]!;
    return withParts(c, { checkpoint: c.parts.checkpoint.replace(root, Buffer.alloc(32, 1).toString('base64')) });
  }],
  ['checkpoint without the log signature', 'CHECKPOINT_SIGNATURE_INVALID', (c) => withParts(c, { checkpoint: withoutSignatures(c.parts.checkpoint, (n) => n !== ORIGIN) })],
  ['checkpoint signed by an impostor log key', 'CHECKPOINT_SIGNATURE_INVALID', async (c, w) => {
    const head = await w.log.head();
    return withParts(c, { checkpoint: await signCheckpoint({ origin: ORIGIN, size: head.size, rootHash: head.rootHash, extensions: [] }, noteSigner(generateNoteKey(ORIGIN).signerKey)) });
  }],
  ['bundle key replaced along with a re-signed checkpoint (pinned key differs)', 'CHECKPOINT_SIGNATURE_INVALID', async (c, w) => {
    const attacker = generateNoteKey(ORIGIN);
    const head = await w.log.head();
    const note = await signCheckpoint({ origin: ORIGIN, size: head.size, rootHash: head.rootHash, extensions: [] }, noteSigner(attacker.signerKey));
    return withParts(c, { checkpoint: note, checkpointVerifierKey: attacker.verifierKey });
  }],
  ['checkpoint for another log origin', 'CHECKPOINT_ORIGIN_MISMATCH', async (c, w) => {
    const head = await w.log.head();
    return withParts(c, { checkpoint: await signCheckpoint({ origin: 'other.example/log', size: head.size, rootHash: head.rootHash, extensions: [] }, noteSigner(w.keys.logKey.signerKey)) });
  }],
  ['checkpoint that is not a note', 'CHECKPOINT_MALFORMED', (c) => withParts(c, { checkpoint: 'hello\n' })],

  // Witnesses.
  ['cosignatures stripped', 'COSIGNATURES_INSUFFICIENT', (c) => withParts(c, { checkpoint: withoutSignatures(c.parts.checkpoint, (n) => n === ORIGIN) })],
  ['one of two cosignatures stripped', 'COSIGNATURES_INSUFFICIENT', (c) => withParts(c, { checkpoint: withoutSignatures(c.parts.checkpoint, (n) => n !== 'witness.example/w2') })],
  ['cosignatures by witnesses the site does not trust', 'COSIGNATURES_INSUFFICIENT', (c) =>
    withOptions(c, { witnessKeys: [1, 2].map((i) => generateNoteKey(`witness.example/w${i}`, 0x04).verifierKey) })],

  // History: rollback and split views.
  ['rolled back to an older, genuinely signed and cosigned checkpoint', 'TLOG_ROLLBACK', async (c, w) => ({
    ...withParts(c, { checkpoint: w.checkpoints.old.note, inclusionProof: { leafIndex: 0, treeSize: w.checkpoints.old.size, hashes: [] }, manifestJws: w.published.round1.jws, model: w.published.round1.model }),
    options: { ...c.options, expected: { job: 'job-7', round: 1 } },
  })],
  ['split view: a forked history the witnesses refused to cosign', 'COSIGNATURES_INSUFFICIENT', async (c, w) => {
    const f = await forkedLog(w);
    return withParts(c, { checkpoint: f.note, inclusionProof: { leafIndex: f.index, treeSize: f.head.size, hashes: await f.fork.inclusionProof(f.index) } });
  }],
  ['split view without witnesses: the consistency proof cannot link the fork', 'TLOG_CONSISTENCY_INVALID', async (c, w) => {
    const f = await forkedLog(w);
    return {
      parts: { ...c.parts, checkpoint: f.note, inclusionProof: { leafIndex: f.index, treeSize: f.head.size, hashes: await f.fork.inclusionProof(f.index) } },
      options: { ...c.options, witnessKeys: [], requiredCosignatures: 0, consistencyProof: (await f.fork.consistencyProof(w.checkpoints.seen.size)).map(toHex) },
    };
  }],
  ['same size as the site saw, different root', 'TLOG_CONSISTENCY_INVALID', async (c, w) => {
    const f = await forkedLog(w);
    const sameSize = await signCheckpoint({ origin: ORIGIN, size: w.checkpoints.seen.size, rootHash: await f.fork.rootAt(w.checkpoints.seen.size), extensions: [] }, noteSigner(w.keys.logKey.signerKey));
    return withOptions(withParts(c, { checkpoint: sameSize }), { witnessKeys: [], requiredCosignatures: 0, consistencyProof: [] });
  }],
  ...[0, 1].map((i): Mutation => [`consistency hash ${i} corrupted`, 'TLOG_CONSISTENCY_INVALID', (c) =>
    withOptions(c, { consistencyProof: c.options.consistencyProof!.map((h, j) => (j === i ? flipHex(h as string) : h)) })]),
  ['consistency hash removed', 'TLOG_CONSISTENCY_INVALID', (c) => withOptions(c, { consistencyProof: c.options.consistencyProof!.slice(1) })],
  ['consistency proof missing', 'TLOG_CONSISTENCY_INVALID', (c) => {
    const { consistencyProof: _gone, ...options } = c.options;
    return { ...c, options };
  }],

  // Replay and confusion.
  ['replayed older round (genuine round 2 bundle when round 3 is due)', 'MANIFEST_STALE_ROUND', async (c, w) => ({ ...c, parts: await w.partsFor(w.published.round2) })],
  ['model of another job', 'MANIFEST_WRONG_JOB', async (c, w) => ({ ...c, parts: await w.partsFor(w.published.otherJob) })],
  ['a later round than expected', 'MANIFEST_ROUND_MISMATCH', (c) => withOptions(c, { expected: { job: 'job-7', round: 2 } })],
  ['a trainer allowlist presented as a model', 'MANIFEST_WRONG_KIND', async (c, w) => ({ ...c, parts: await w.partsFor(w.published.allowlist) })],

  // Files.
  ...Object.values(BUNDLE_FILES).map((file): Mutation => [`${file} missing`, 'BUNDLE_FILE_MISSING', (c) => ({ ...c, onDisk: (dir) => unlink(join(dir, file)) })]),
  ['jwks.json not JSON', 'BUNDLE_MALFORMED', (c) => ({ ...c, onDisk: (dir) => writeFile(join(dir, BUNDLE_FILES.jwks), '{keys:') })],
  ['checkpoint.txt not UTF-8', 'BUNDLE_MALFORMED', (c) => ({ ...c, onDisk: (dir) => writeFile(join(dir, BUNDLE_FILES.checkpoint), Buffer.from([0xff, 0xfe, 0x0a])) })],
  ['manifest.jws larger than 1 MiB', 'BUNDLE_FILE_TOO_LARGE', (c) => ({ ...c, onDisk: (dir) => writeFile(join(dir, BUNDLE_FILES.manifest), Buffer.alloc((1 << 20) + 1, 0x41)) })],
];

describe('offline model bundle: tampered and malformed fixtures', () => {
  let world: World;
  let root: string;
  let n = 0;
  const verifyCase = async (c: Case) => {
    const dir = join(root, `case-${n++}`);
    await writeModelBundle(dir, c.parts);
    await c.onDisk?.(dir);
    return verifyModelBundle(dir, c.options);
  };

  beforeAll(async () => {
    world = await buildWorld();
    root = await mkdtemp(join(tmpdir(), 'medfed-bundle-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('accepts the valid bundle: pinned anchors, two cosignatures, consistent with what the site saw', async () => {
    const ok = await verifyCase({ parts: world.parts, options: world.options });
    expect(ok.manifest.job).toBe('job-7');
    expect(ok.manifest.round).toBe(3);
    expect(Buffer.from(ok.bytes)).toEqual(Buffer.from(world.published.target.model));
    expect(ok.leafIndex).toBe(world.published.target.index);
    expect(ok.checkpoint.size).toBe(world.checkpoints.latest.size);
    expect(ok.cosignatures.map((c) => c.witness).sort()).toEqual(['witness.example/w1', 'witness.example/w2']);
    expect(ok.anchors).toEqual({ manifestKeys: 'pinned', logKey: 'pinned' });
  });

  it('has at least 40 distinct fixtures', () => {
    expect(MUTATIONS.length).toBeGreaterThanOrEqual(40);
    expect(new Set(MUTATIONS.map(([name]) => name)).size).toBe(MUTATIONS.length);
  });

  it.each(MUTATIONS)('refuses %s with %s', async (_name, code, mutate) => {
    const c = await mutate({ parts: world.parts, options: world.options }, world);
    await expect(verifyCase(c)).rejects.toMatchObject({ code });
  });
});
