import { fromBase64, toBase64 } from './encoding.js';
import { TlogError } from './errors.js';
import { HASH_SIZE } from './hash.js';
import { noteVerifier, type NoteSigner, type NoteVerifier } from './note-keys.js';
import { checkNoteSignatures, parseNote, signNote, type SignedNote } from './note.js';

/** c2sp.org/tlog-checkpoint: origin, tree size, root hash, optional extension lines. */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  readonly extensions: readonly string[];
}

export function formatCheckpoint(cp: Checkpoint): string {
  if (cp.origin.length === 0 || cp.origin.includes('\n')) throw new TlogError('CHECKPOINT_MALFORMED', 'the origin must be one non-empty line');
  if (!Number.isSafeInteger(cp.size) || cp.size < 0) throw new TlogError('CHECKPOINT_MALFORMED', `tree size ${cp.size} is not a non-negative integer`);
  if (cp.rootHash.length !== HASH_SIZE) throw new TlogError('CHECKPOINT_MALFORMED', `the root hash must be ${HASH_SIZE} bytes`);
  if (cp.extensions.some((e) => e.length === 0 || e.includes('\n'))) throw new TlogError('CHECKPOINT_MALFORMED', 'extension lines must be non-empty single lines');
  return [cp.origin, String(cp.size), toBase64(cp.rootHash), ...cp.extensions].map((l) => `${l}\n`).join('');
}

/** Parses a checkpoint body (the note text). Strict: one text per checkpoint, no leading zeroes, canonical base64. */
export function parseCheckpoint(text: string): Checkpoint {
  const bad = (why: string): never => {
    throw new TlogError('CHECKPOINT_MALFORMED', `checkpoint body is malformed: ${why}`);
  };
  if (!text.endsWith('\n')) bad('it must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) bad('it needs an origin, a tree size and a root hash line');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) bad('the origin line is empty');
  if (!/^(?:0|[1-9][0-9]*)$/.test(sizeText)) bad(`tree size ${JSON.stringify(sizeText)} is not a decimal without leading zeroes`);
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) bad(`tree size ${sizeText} is too large`);
  const rootHash = fromBase64(rootText);
  if (!rootHash || rootHash.length !== HASH_SIZE) return bad(`root hash ${JSON.stringify(rootText)} is not base64 of ${HASH_SIZE} bytes`);
  if (extensions.some((e) => e.length === 0)) bad('an extension line is empty');
  return { origin, size, rootHash, extensions };
}

export async function signCheckpoint(cp: Checkpoint, signer: NoteSigner): Promise<string> {
  return signNote(formatCheckpoint(cp), [signer]);
}

export interface VerifiedCheckpoint {
  readonly checkpoint: Checkpoint;
  readonly note: SignedNote;
}

/**
 * Opens a checkpoint note with the log's verifier key: it must carry a valid signature by that
 * key (signatures by other keys are ignored) and name the expected origin (default: the key name).
 */
export function verifyCheckpoint(noteText: string, logKey: string | NoteVerifier, options: { origin?: string } = {}): VerifiedCheckpoint {
  const verifier = typeof logKey === 'string' ? noteVerifier(logKey) : logKey;
  let note: SignedNote;
  try {
    note = parseNote(noteText);
  } catch (err) {
    throw new TlogError('CHECKPOINT_MALFORMED', `the checkpoint is not a signed note: ${(err as Error).message}`, undefined, { cause: err });
  }
  const checks = checkNoteSignatures(note, [verifier]);
  if (checks.length === 0) {
    throw new TlogError('CHECKPOINT_SIGNATURE_INVALID', `the checkpoint has no signature by the log key ${verifier.name} (key id ${verifier.keyId.toString(16).padStart(8, '0')})`);
  }
  if (checks.some((c) => !c.valid)) {
    throw new TlogError('CHECKPOINT_SIGNATURE_INVALID', `the checkpoint signature by ${verifier.name} does not verify: the checkpoint was altered or signed by another key`);
  }
  const checkpoint = parseCheckpoint(note.text);
  const origin = options.origin ?? verifier.name;
  if (checkpoint.origin !== origin) {
    throw new TlogError('CHECKPOINT_ORIGIN_MISMATCH', `the checkpoint is for log ${JSON.stringify(checkpoint.origin)}, expected ${JSON.stringify(origin)}`);
  }
  return { checkpoint, note };
}
