import { createHash } from 'node:crypto';
import type { Decryptor, Encryptor, SecretKey } from 'node-seal';
import type { HeContext } from './context.js';
import { HeError } from './errors.js';

const KEY_ID_TAG = new TextEncoder().encode('medfed-he-key-id/1\0');

/**
 * A public identifier of a secret key: SHA-256 over a tag, the parameter digest and the key's SEAL
 * serialisation, first 16 bytes. Chunks carry it, so a ciphertext under another key set is refused
 * before use; the key has far more entropy than the hash output, so the id reveals nothing usable.
 */
export function secretKeyId(paramsDigest: string, secretKeyBytes: Uint8Array): string {
  return createHash('sha256').update(KEY_ID_TAG).update(Buffer.from(paramsDigest, 'hex')).update(secretKeyBytes).digest().subarray(0, 16).toString('hex');
}

/**
 * The job's BFV secret key at a site, with the encryptor and decryptor built from it. Only sites
 * hold it (see custody/). Call dispose() when done: SEAL wipes key memory when its objects are
 * deleted, and WebAssembly memory is never reclaimed otherwise.
 */
export class HeSecretKey {
  readonly context: HeContext;
  readonly keyId: string;
  readonly keyIdBytes: Uint8Array;
  #secretKey: SecretKey | undefined;
  #encryptor: Encryptor | undefined;
  #decryptor: Decryptor | undefined;

  constructor(context: HeContext, secretKey: SecretKey) {
    this.context = context;
    this.#secretKey = secretKey;
    const bytes = secretKey.saveToArray(context.seal.ComprModeType.none) as Uint8Array;
    this.keyId = secretKeyId(context.digest, bytes);
    bytes.fill(0);
    this.keyIdBytes = Uint8Array.from(Buffer.from(this.keyId, 'hex'));
  }

  #key(): SecretKey {
    if (this.#secretKey === undefined) throw new HeError('HE_DISPOSED', `HE secret key ${this.keyId} was disposed; import it again`);
    return this.#secretKey;
  }

  /** SEAL's encryptor needs a public key even for symmetric use; one is derived once and dropped. */
  encryptor(): Encryptor {
    if (this.#encryptor === undefined) {
      const seal = this.context.seal;
      const keygen = new seal.KeyGenerator(this.context.sealContext, this.#key());
      const publicKey = keygen.createPublicKey();
      this.#encryptor = new seal.Encryptor(this.context.sealContext, publicKey, this.#key());
      publicKey.delete();
      keygen.delete();
    }
    return this.#encryptor;
  }

  decryptor(): Decryptor {
    this.#decryptor ??= new this.context.seal.Decryptor(this.context.sealContext, this.#key());
    return this.#decryptor;
  }

  /** SEAL serialisation of the key (for wrapping). The caller zeroises it (fill(0)) after use. */
  export(): Uint8Array {
    return this.#key().saveToArray(this.context.seal.ComprModeType.none) as Uint8Array;
  }

  dispose(): void {
    this.#encryptor?.delete();
    this.#decryptor?.delete();
    this.#secretKey?.delete();
    this.#encryptor = undefined;
    this.#decryptor = undefined;
    this.#secretKey = undefined;
  }
}

/** A fresh secret key for the parameter set (at the site running the key ceremony). */
export function generateKeys(context: HeContext): HeSecretKey {
  const keygen = new context.seal.KeyGenerator(context.sealContext);
  try {
    return new HeSecretKey(context, keygen.secretKey());
  } finally {
    keygen.delete();
  }
}

/** Loads a key exported by HeSecretKey.export() (e.g. unwrapped from the ceremony). */
export function importSecretKey(context: HeContext, bytes: Uint8Array): HeSecretKey {
  const secretKey = new context.seal.SecretKey();
  try {
    secretKey.loadFromArray(context.sealContext, bytes);
    const canonical = secretKey.saveToArray(context.seal.ComprModeType.none) as Uint8Array;
    const same = canonical.byteLength === bytes.byteLength && canonical.every((b, i) => b === bytes[i]);
    canonical.fill(0);
    if (!same) throw new Error('key bytes are not in canonical uncompressed form');
  } catch (err) {
    secretKey.delete();
    throw new HeError('HE_SECRET_KEY_INVALID', `secret key (${bytes.byteLength} bytes) does not load under parameter set ${context.paramSet.id}: ${describe(err)}`, undefined, { cause: err });
  }
  return new HeSecretKey(context, secretKey);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : 'SEAL refused the bytes';
}
