import { fromBase64, toBase64 } from './encoding.js';
import { TlogError } from './errors.js';
import { formatKeyId, isNoteKeyName, type NoteSigner, type NoteVerifier } from './note-keys.js';

/** One signature line: `— <name> base64(key id || signature)`. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  /** The bytes after the key id. */
  readonly signature: Uint8Array;
}

export interface SignedNote {
  /** The signed text, final newline included, separating blank line excluded. */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

const EM_DASH = '\u2014';
/** The spec asks verifiers to accept at least 16; beyond 100 a note is refused as abuse. */
export const MAX_NOTE_SIGNATURES = 100;

const malformed = (why: string): never => {
  throw new TlogError('NOTE_MALFORMED', `not a signed note: ${why}`);
};

/** Parses c2sp.org/signed-note: text ending in a newline, a blank line, then one or more signature lines. */
export function parseNote(note: string): SignedNote {
  // Control characters other than newline are forbidden (so is a carriage return).
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) malformed('it holds a control character other than newline');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) malformed('there is no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (!block.endsWith('\n')) malformed('the last signature line does not end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) malformed(`more than ${MAX_NOTE_SIGNATURES} signatures`);
  const signatures = lines.map((line) => {
    const m = /^\u2014 ([^ ]+) ([^ ]+)$/u.exec(line);
    if (!m) return malformed(`signature line ${JSON.stringify(line.slice(0, 60))} is not "— <name> <base64>"`);
    const [, name, b64] = m as unknown as [string, string, string];
    if (!isNoteKeyName(name)) malformed(`signature key name ${JSON.stringify(name)} holds a space, plus or control character`);
    const raw = fromBase64(b64);
    if (!raw || raw.length < 5) return malformed(`the signature of ${name} is not base64 of a key id and a signature`);
    return { name, keyId: Buffer.from(raw).readUInt32BE(0), signature: raw.subarray(4) };
  });
  return { text, signatures };
}

export function formatSignatureLine(sig: NoteSignature): string {
  const raw = Buffer.alloc(4 + sig.signature.length);
  raw.writeUInt32BE(sig.keyId, 0);
  Buffer.from(sig.signature).copy(raw, 4);
  return `${EM_DASH} ${sig.name} ${toBase64(raw)}\n`;
}

export function formatNote(note: SignedNote): string {
  if (!note.text.endsWith('\n')) throw new TlogError('NOTE_MALFORMED', 'a note text must end with a newline');
  if (note.signatures.length === 0) throw new TlogError('NOTE_MALFORMED', 'a signed note needs at least one signature');
  return `${note.text}\n${note.signatures.map(formatSignatureLine).join('')}`;
}

/** Signs `text` with each signer and returns the signed note. */
export async function signNote(text: string, signers: readonly NoteSigner[]): Promise<string> {
  if (!text.endsWith('\n')) throw new TlogError('NOTE_MALFORMED', 'a note text must end with a newline');
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text)) throw new TlogError('NOTE_MALFORMED', 'a note text must not hold control characters other than newline');
  const signatures = await Promise.all(signers.map(async (s) => ({ name: s.name, keyId: s.keyId, signature: await s.sign(text) })));
  return formatNote({ text, signatures });
}

/**
 * Adds signatures (for example a witness's cosignature) to a note; a signature by a key already
 * present (same name and key id) replaces the old one.
 */
export function addSignatures(note: string, added: readonly NoteSignature[]): string {
  const parsed = parseNote(note);
  const key = (s: NoteSignature) => `${s.name}+${formatKeyId(s.keyId)}`;
  const replaced = new Set(added.map(key));
  return formatNote({ text: parsed.text, signatures: [...parsed.signatures.filter((s) => !replaced.has(key(s))), ...added] });
}

export interface NoteCheck {
  readonly verifier: NoteVerifier;
  readonly signature: NoteSignature;
  readonly valid: boolean;
}

/**
 * Checks every signature made by one of `verifiers` (matched on name and key id; signatures by
 * other keys are ignored, as the spec requires). The caller decides what a failure means.
 */
export function checkNoteSignatures(note: SignedNote, verifiers: readonly NoteVerifier[]): NoteCheck[] {
  const checks: NoteCheck[] = [];
  for (const signature of note.signatures) {
    const verifier = verifiers.find((v) => v.name === signature.name && v.keyId === signature.keyId);
    if (verifier) checks.push({ verifier, signature, valid: verifier.verify(note.text, signature.signature) });
  }
  return checks;
}
