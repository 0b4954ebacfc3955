import { describe, expect, it } from '@jest/globals';
import { addSignatures, checkNoteSignatures, formatNote, generateNoteKey, noteSigner, noteVerifier, parseNote, signNote } from '../../src/tlog/index.js';

describe('signed notes (c2sp.org/signed-note)', () => {
  const key = generateNoteKey('notes.example/k1');

  it('separates the text from the signatures at the last blank line', async () => {
    const text = 'first paragraph\n\nsecond paragraph\n';
    const note = await signNote(text, [noteSigner(key.signerKey)]);
    const parsed = parseNote(note);
    expect(parsed.text).toBe(text);
    expect(checkNoteSignatures(parsed, [noteVerifier(key.verifierKey)])[0]?.valid).toBe(true);
    expect(formatNote(parsed)).toBe(note);
  });

  it('adds a signature line, replacing an older one by the same key', async () => {
    const other = generateNoteKey('notes.example/k2');
    const note = await signNote('body\n', [noteSigner(key.signerKey)]);
    const second = parseNote(await signNote('body\n', [noteSigner(other.signerKey)])).signatures;
    const both = addSignatures(note, second);
    expect(parseNote(both).signatures.map((s) => s.name)).toEqual(['notes.example/k1', 'notes.example/k2']);
    expect(addSignatures(both, second)).toBe(both);
  });

  it.each([
    ['a signature name with a plus', 'body\n\n\u2014 a+b AAAAAAAA\n'],
    ['a signature shorter than a key id', 'body\n\n\u2014 name AAAA\n'],
    ['a signature that is not base64', 'body\n\n\u2014 name !!!!!!!!\n'],
    ['a hyphen instead of an em dash', 'body\n\n- name AAAAAAAA\n'],
    ['a tab', 'bo\tdy\n\n\u2014 name AAAAAAAA\n'],
    ['no blank line', 'body\n\u2014 name AAAAAAAA\n'],
  ])('refuses %s', (_name, note) => {
    expect(() => parseNote(note)).toThrow(expect.objectContaining({ code: 'NOTE_MALFORMED' }));
  });

  it('refuses to sign a text without a final newline', async () => {
    await expect(signNote('no newline', [noteSigner(key.signerKey)])).rejects.toMatchObject({ code: 'NOTE_MALFORMED' });
  });
});
