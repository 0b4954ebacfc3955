import { verifyCheckpoint, type Checkpoint } from './checkpoint.js';
import { fromBase64, toBase64 } from './encoding.js';
import { TlogError } from './errors.js';
import { formatVerifierKey, NOTE_KEY_TYPE, noteSigner, noteVerifier, type NoteSigner, type NoteVerifier } from './note-keys.js';
import { addSignatures } from './note.js';
import { verifyConsistency } from './verify-consistency.js';

/** What a witness remembers per log: the largest checkpoint it verified and cosigned. */
export interface WitnessView {
  readonly size: number;
  /** base64, as in the checkpoint. */
  readonly rootHash: string;
}
export type WitnessState = Readonly<Record<string, WitnessView>>;

export interface WitnessOptions {
  /** `PRIVATE+KEY+<name>+<id>+<base64>` of signature type 0x04, or a NoteSigner of that type. */
  readonly signer: string | NoteSigner;
  /** Verifier keys of the logs this witness follows; each log's origin is its key name. */
  readonly logs: readonly string[];
  /** State from an earlier run (see `state()`); the witness never goes back from it. */
  readonly state?: WitnessState;
  /** POSIX seconds, for the cosignature timestamp. */
  readonly now?: () => number;
}

/**
 * A witness (c2sp.org/tlog-witness semantics, in process): it cosigns a checkpoint only after
 * checking the log's signature and that the checkpoint extends the last one it cosigned for that
 * log. It refuses a smaller checkpoint (TLOG_ROLLBACK) and a fork (TLOG_CONSISTENCY_INVALID), so
 * a log cannot show two histories to clients that require this witness's cosignature.
 */
export class Witness {
  readonly #signer: NoteSigner;
  readonly #logs: Map<string, NoteVerifier>;
  readonly #views: Map<string, WitnessView>;

  constructor(options: WitnessOptions) {
    this.#signer = typeof options.signer === 'string' ? noteSigner(options.signer, options.now ? { now: options.now } : {}) : options.signer;
    if (this.#signer.type !== NOTE_KEY_TYPE.COSIGNATURE_V1) {
      throw new TlogError('NOTE_KEY_INVALID', `witness key ${this.#signer.name} must be of signature type 0x04 (cosignature/v1)`);
    }
    this.#logs = new Map(options.logs.map((k) => {
      const v = noteVerifier(k);
      return [v.name, v];
    }));
    this.#views = new Map(Object.entries(options.state ?? {}));
  }

  /** The witness's verifier key, for clients' cosignature policies. */
  get verifierKey(): string {
    return formatVerifierKey(this.#signer.name, NOTE_KEY_TYPE.COSIGNATURE_V1, this.#signer.publicKey);
  }

  state(): WitnessState {
    return Object.fromEntries(this.#views);
  }

  /**
   * Verifies and cosigns: returns the checkpoint note with this witness's cosignature added.
   * `consistencyProof` proves the new checkpoint extends the last one cosigned for its origin.
   */
  async cosign(checkpointNote: string, consistencyProof: readonly Uint8Array[]): Promise<string> {
    const origin = checkpointNote.slice(0, checkpointNote.indexOf('\n'));
    const logKey = this.#logs.get(origin);
    if (!logKey) throw new TlogError('WITNESS_UNKNOWN_LOG', `witness ${this.#signer.name} does not follow log ${JSON.stringify(origin)}`);
    const { checkpoint, note } = verifyCheckpoint(checkpointNote, logKey);
    this.#checkExtends(checkpoint, consistencyProof);
    // Recorded before signing: concurrent calls see the new view and cannot both pass from the old one.
    this.#views.set(checkpoint.origin, { size: checkpoint.size, rootHash: toBase64(checkpoint.rootHash) });
    const signature = await this.#signer.sign(note.text);
    return addSignatures(checkpointNote, [{ name: this.#signer.name, keyId: this.#signer.keyId, signature }]);
  }

  #checkExtends(next: Checkpoint, proof: readonly Uint8Array[]): void {
    const seen = this.#views.get(next.origin);
    if (!seen || seen.size === 0) return;
    const seenRoot = fromBase64(seen.rootHash);
    if (!seenRoot) throw new TlogError('TLOG_CONSISTENCY_INVALID', `the witness state for ${next.origin} holds an unreadable root hash`);
    verifyConsistency(seen.size, next.size, proof, seenRoot, next.rootHash);
  }
}
