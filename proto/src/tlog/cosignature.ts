import { TlogError } from './errors.js';
import { formatKeyId, NOTE_KEY_TYPE, noteVerifier, type NoteVerifier } from './note-keys.js';
import { checkNoteSignatures, parseNote, type SignedNote } from './note.js';

export interface Cosignature {
  readonly witness: string;
  readonly keyId: number;
  /** POSIX seconds at which the witness cosigned. */
  readonly timestamp: number;
}

export interface CosignaturePolicy {
  /** Witness verifier keys (signature type 0x04). */
  readonly witnessKeys: readonly (string | NoteVerifier)[];
  /** How many distinct witnesses must have cosigned. */
  readonly required: number;
  /** Seconds since the epoch; cosignatures dated after now + maxFutureSeconds are not counted. */
  readonly now?: number;
  readonly maxFutureSeconds?: number;
}

/**
 * Counts the distinct trusted witnesses whose cosignature/v1 over this checkpoint verifies, and
 * refuses with COSIGNATURES_INSUFFICIENT below the required number. A witness that signed twice
 * counts once; signatures by unknown keys are ignored.
 */
export function verifyCosignatures(note: string | SignedNote, policy: CosignaturePolicy): Cosignature[] {
  const parsed = typeof note === 'string' ? parseNote(note) : note;
  const verifiers = distinctVerifiers(policy.witnessKeys);
  if (!Number.isSafeInteger(policy.required) || policy.required < 0) {
    throw new TlogError('COSIGNATURES_INSUFFICIENT', `required cosignatures must be a non-negative integer, not ${String(policy.required)}`);
  }
  if (policy.required > verifiers.length) {
    throw new TlogError('COSIGNATURES_INSUFFICIENT', `${policy.required} cosignatures are required but only ${verifiers.length} distinct witness keys are trusted`);
  }
  const latest = (policy.now ?? Math.floor(Date.now() / 1000)) + (policy.maxFutureSeconds ?? 300);
  const counted = new Map<string, Cosignature>();
  for (const check of checkNoteSignatures(parsed, verifiers)) {
    if (!check.valid) continue;
    const timestamp = Number(Buffer.from(check.signature.signature).readBigUInt64BE(0));
    if (timestamp > latest) continue;
    const key = `${check.verifier.name}+${formatKeyId(check.verifier.keyId)}`;
    if (!counted.has(key)) counted.set(key, { witness: check.verifier.name, keyId: check.verifier.keyId, timestamp });
  }
  const valid = [...counted.values()];
  if (valid.length < policy.required) {
    throw new TlogError('COSIGNATURES_INSUFFICIENT', `the checkpoint has ${valid.length} valid cosignatures from trusted witnesses, ${policy.required} are required`, {
      cosigners: valid.map((c) => c.witness),
    });
  }
  return valid;
}

function distinctVerifiers(keys: readonly (string | NoteVerifier)[]): NoteVerifier[] {
  const out = new Map<string, NoteVerifier>();
  for (const k of keys) {
    const v = typeof k === 'string' ? noteVerifier(k) : k;
    if (v.type !== NOTE_KEY_TYPE.COSIGNATURE_V1) {
      throw new TlogError('NOTE_KEY_INVALID', `witness key ${v.name} has signature type 0x${v.type.toString(16).padStart(2, '0')}; witnesses cosign with type 0x04 (cosignature/v1)`);
    }
    out.set(`${v.name}+${formatKeyId(v.keyId)}`, v);
  }
  return [...out.values()];
}
