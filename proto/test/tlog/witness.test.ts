import { describe, expect, it } from '@jest/globals';
import {
  MemoryTreeStore,
  MerkleLog,
  NOTE_KEY_TYPE,
  Witness,
  generateNoteKey,
  noteSigner,
  parseNote,
  signCheckpoint,
  verifyCosignatures,
} from '../../src/tlog/index.js';

const ORIGIN = 'medfed.example/log';
const logKey = generateNoteKey(ORIGIN);
const witnessKeys = [1, 2, 3].map((i) => generateNoteKey(`witness.example/w${i}`, NOTE_KEY_TYPE.COSIGNATURE_V1));
const now = 1_750_000_000;

async function growingLog() {
  const log = new MerkleLog(new MemoryTreeStore());
  const checkpoint = async () => {
    const head = await log.head();
    return { size: head.size, note: await signCheckpoint({ origin: ORIGIN, size: head.size, rootHash: head.rootHash, extensions: [] }, noteSigner(logKey.signerKey)) };
  };
  const add = (n: number) => log.append(Array.from({ length: n }, (_, i) => Buffer.from(`leaf-${Math.random()}-${i}`)));
  return { log, checkpoint, add };
}

const witness = (i: number, state?: Witness['state'] extends () => infer S ? S : never) =>
  new Witness({ signer: witnessKeys[i]!.signerKey, logs: [logKey.verifierKey], now: () => now, ...(state ? { state } : {}) });

describe('Witness', () => {
  it('cosigns a first checkpoint, then each one it can prove consistent with the last', async () => {
    const { log, checkpoint, add } = await growingLog();
    const w = witness(0);
    await add(5);
    const first = await checkpoint();
    const cosigned = await w.cosign(first.note, []);
    expect(verifyCosignatures(cosigned, { witnessKeys: [w.verifierKey], required: 1, now }).map((c) => c.timestamp)).toEqual([now]);
    await add(7);
    const second = await checkpoint();
    await w.cosign(second.note, await log.consistencyProof(first.size, second.size));
    expect(w.state()[ORIGIN]?.size).toBe(12);
  });

  it('refuses a rolled-back (smaller) checkpoint', async () => {
    const { checkpoint, add } = await growingLog();
    await add(3);
    const small = await checkpoint();
    await add(3);
    const w = witness(0);
    await w.cosign((await checkpoint()).note, []);
    await expect(w.cosign(small.note, [])).rejects.toMatchObject({ code: 'TLOG_ROLLBACK' });
  });

  it('refuses a fork: same size with another root, or a larger tree that does not extend the last', async () => {
    const a = await growingLog();
    const b = await growingLog();
    await a.add(4);
    await b.add(4);
    const w = witness(0);
    await w.cosign((await a.checkpoint()).note, []);
    await expect(w.cosign((await b.checkpoint()).note, [])).rejects.toMatchObject({ code: 'TLOG_CONSISTENCY_INVALID' });
    await b.add(4);
    await expect(w.cosign((await b.checkpoint()).note, await b.log.consistencyProof(4))).rejects.toMatchObject({ code: 'TLOG_CONSISTENCY_INVALID' });
    expect(w.state()[ORIGIN]?.size).toBe(4);
  });

  it('refuses checkpoints of logs it does not follow and checkpoints not signed by the log', async () => {
    const w = witness(0);
    const stranger = generateNoteKey('other.example/log');
    const foreign = await signCheckpoint({ origin: 'other.example/log', size: 0, rootHash: Buffer.alloc(32), extensions: [] }, noteSigner(stranger.signerKey));
    await expect(w.cosign(foreign, [])).rejects.toMatchObject({ code: 'WITNESS_UNKNOWN_LOG' });
    const forged = await signCheckpoint({ origin: ORIGIN, size: 1, rootHash: Buffer.alloc(32), extensions: [] }, noteSigner(generateNoteKey(ORIGIN).signerKey));
    await expect(w.cosign(forged, [])).rejects.toMatchObject({ code: 'CHECKPOINT_SIGNATURE_INVALID' });
  });

  it('keeps refusing rollbacks after a restart from its saved state', async () => {
    const { checkpoint, add } = await growingLog();
    await add(2);
    const old = await checkpoint();
    await add(2);
    const first = witness(0);
    await first.cosign((await checkpoint()).note, []);
    const restarted = witness(0, first.state());
    await expect(restarted.cosign(old.note, [])).rejects.toMatchObject({ code: 'TLOG_ROLLBACK' });
  });
});

describe('verifyCosignatures: k of n witnesses', () => {
  it('counts distinct trusted witnesses and refuses below the threshold', async () => {
    const { checkpoint, add } = await growingLog();
    await add(3);
    let note = (await checkpoint()).note;
    note = await witness(0).cosign(note, []);
    note = await witness(1).cosign(note, []);
    const keys = witnessKeys.map((k) => k.verifierKey);
    expect(verifyCosignatures(note, { witnessKeys: keys, required: 2, now })).toHaveLength(2);
    expect(() => verifyCosignatures(note, { witnessKeys: keys, required: 3, now })).toThrow(expect.objectContaining({ code: 'COSIGNATURES_INSUFFICIENT' }));
    // The same witness twice in the policy still counts once.
    expect(() => verifyCosignatures(note, { witnessKeys: [keys[0]!, keys[0]!], required: 2, now })).toThrow(expect.objectContaining({ code: 'COSIGNATURES_INSUFFICIENT' }));
  });

  it('does not count a cosignature over another checkpoint, a corrupted one, or one from the future', async () => {
    const { checkpoint, add } = await growingLog();
    await add(3);
    const note = await witness(0).cosign((await checkpoint()).note, []);
    const keys = [witnessKeys[0]!.verifierKey];
    const sigLine = note.split('\n').find((l) => l.startsWith('\u2014 witness.example/w1'))!;
    await add(1);
    const transplanted = `${(await checkpoint()).note}${sigLine}\n`;
    expect(() => verifyCosignatures(transplanted, { witnessKeys: keys, required: 1, now })).toThrow(expect.objectContaining({ code: 'COSIGNATURES_INSUFFICIENT' }));
    const sig = parseNote(note).signatures.find((s) => s.name === 'witness.example/w1')!;
    const bytes = Buffer.from(sig.signature);
    bytes[20]! ^= 1;
    const keyId = Buffer.alloc(4);
    keyId.writeUInt32BE(sig.keyId);
    const corrupted = note.replace(sigLine, `\u2014 witness.example/w1 ${Buffer.concat([keyId, bytes]).toString('base64')}`);
    expect(corrupted).not.toBe(note);
    expect(() => verifyCosignatures(corrupted, { witnessKeys: keys, required: 1, now })).toThrow(expect.objectContaining({ code: 'COSIGNATURES_INSUFFICIENT' }));
    expect(() => verifyCosignatures(note, { witnessKeys: keys, required: 1, now: now - 3600 })).toThrow(expect.objectContaining({ code: 'COSIGNATURES_INSUFFICIENT' }));
  });

  it('refuses a policy asking for more witnesses than it trusts, and log keys posing as witness keys', () => {
    expect(() => verifyCosignatures(`a\n\n\u2014 a AAAAAAAA\n`, { witnessKeys: [witnessKeys[0]!.verifierKey], required: 2 })).toThrow(expect.objectContaining({ code: 'COSIGNATURES_INSUFFICIENT' }));
    expect(() => verifyCosignatures(`a\n\n\u2014 a AAAAAAAA\n`, { witnessKeys: [logKey.verifierKey], required: 1 })).toThrow(expect.objectContaining({ code: 'NOTE_KEY_INVALID' }));
  });
});
