import { describe, expect, it } from '@jest/globals';
import {
  NOTE_KEY_TYPE,
  addSignatures,
  formatCheckpoint,
  generateNoteKey,
  noteSigner,
  parseCheckpoint,
  parseNote,
  signCheckpoint,
  signNote,
  verifyCheckpoint,
  type Checkpoint,
} from '../../src/tlog/index.js';

const root = Buffer.alloc(32, 7);
const cp: Checkpoint = { origin: 'medfed.example/log', size: 42, rootHash: root, extensions: [] };

describe('checkpoints (c2sp.org/tlog-checkpoint)', () => {
  const log = generateNoteKey('medfed.example/log');

  it('formats the body exactly: origin, decimal size, base64 root, each on its own line', () => {
    expect(formatCheckpoint(cp)).toBe(`medfed.example/log\n42\n${root.toString('base64')}\n`);
    expect(formatCheckpoint({ ...cp, extensions: ['ext one'] })).toBe(`medfed.example/log\n42\n${root.toString('base64')}\next one\n`);
  });

  it('signs and verifies, ignoring signatures by unknown keys', async () => {
    const note = await signCheckpoint(cp, noteSigner(log.signerKey));
    expect(note.startsWith(formatCheckpoint(cp))).toBe(true);
    expect(note).toMatch(/\n\n\u2014 medfed\.example\/log [A-Za-z0-9+/=]+\n$/u);
    const other = generateNoteKey('someone.else/key');
    const withStranger = addSignatures(note, parseNote(await signNote(formatCheckpoint(cp), [noteSigner(other.signerKey)])).signatures);
    const { checkpoint } = verifyCheckpoint(withStranger, log.verifierKey);
    expect(checkpoint.size).toBe(42);
    expect(Buffer.from(checkpoint.rootHash)).toEqual(root);
  });

  it.each([
    ['a changed size', (n: string) => n.replace('\n42\n', '\n43\n'), 'CHECKPOINT_SIGNATURE_INVALID'],
    ['a changed root', (n: string) => n.replace(root.toString('base64'), Buffer.alloc(32, 8).toString('base64')), 'CHECKPOINT_SIGNATURE_INVALID'],
    ['an added extension line', (n: string) => n.replace('\n\n', '\nextra\n\n'), 'CHECKPOINT_SIGNATURE_INVALID'],
    ['no signature by the log key', (n: string) => n.replace('\u2014 medfed.example/log', '\u2014 medfed.example/other'), 'CHECKPOINT_SIGNATURE_INVALID'],
    ['no signature block', (n: string) => n.slice(0, n.indexOf('\n\n') + 1), 'CHECKPOINT_MALFORMED'],
    ['a carriage return', (n: string) => n.replace('\n42\n', '\r\n42\n'), 'CHECKPOINT_MALFORMED'],
  ])('refuses %s', async (_name, edit, code) => {
    const note = await signCheckpoint(cp, noteSigner(log.signerKey));
    expect(() => verifyCheckpoint(edit(note), log.verifierKey)).toThrow(expect.objectContaining({ code }));
  });

  it('refuses a checkpoint for another origin signed by the trusted key', async () => {
    const note = await signCheckpoint({ ...cp, origin: 'medfed.example/other' }, noteSigner(log.signerKey));
    expect(() => verifyCheckpoint(note, log.verifierKey)).toThrow(expect.objectContaining({ code: 'CHECKPOINT_ORIGIN_MISMATCH' }));
    expect(verifyCheckpoint(note, log.verifierKey, { origin: 'medfed.example/other' }).checkpoint.origin).toBe('medfed.example/other');
  });

  it('refuses a signature by another key that carries the log name (key id differs)', async () => {
    const impostor = generateNoteKey('medfed.example/log');
    const note = await signCheckpoint(cp, noteSigner(impostor.signerKey));
    expect(() => verifyCheckpoint(note, log.verifierKey)).toThrow(expect.objectContaining({ code: 'CHECKPOINT_SIGNATURE_INVALID' }));
  });

  it.each([
    ['too few lines', 'origin\n42\n'],
    ['a leading zero', `origin\n042\n${root.toString('base64')}\n`],
    ['a negative size', `origin\n-1\n${root.toString('base64')}\n`],
    ['a size beyond 2^53', `origin\n9007199254740993\n${root.toString('base64')}\n`],
    ['a short root', `origin\n1\n${Buffer.alloc(31).toString('base64')}\n`],
    ['non-canonical base64', `origin\n1\n${root.toString('base64').replace('=', '')}\n`],
    ['an empty origin', `\n1\n${root.toString('base64')}\n`],
    ['an empty extension line', `origin\n1\n${root.toString('base64')}\n\n`],
    ['no final newline', `origin\n1\n${root.toString('base64')}`],
  ])('refuses a body with %s', (_name, body) => {
    expect(() => parseCheckpoint(body)).toThrow(expect.objectContaining({ code: 'CHECKPOINT_MALFORMED' }));
  });

  it('keeps log keys (0x01) and witness keys (0x04) apart', () => {
    const w = generateNoteKey('witness.example/w', NOTE_KEY_TYPE.COSIGNATURE_V1);
    expect(Buffer.from(w.verifierKey.split('+')[2]!, 'base64')[0]).toBe(0x04);
    expect(() => verifyCheckpoint(`x\n\n\u2014 x AAAAAAAA\n`, w.verifierKey)).toThrow(expect.objectContaining({ code: 'CHECKPOINT_SIGNATURE_INVALID' }));
  });

  it('never echoes a signer key in its error message', () => {
    const secret = generateNoteKey('log.example').signerKey;
    const broken = `${secret.slice(0, -4)}!!!!`;
    try {
      noteSigner(broken);
      throw new Error('accepted');
    } catch (err) {
      expect((err as { code: string }).code).toBe('NOTE_KEY_INVALID');
      expect((err as Error).message).not.toContain(secret.split('+').slice(4).join('+').slice(0, 12));
    }
  });
});
