import type { BatchEncoder, Ciphertext, Encryptor, SEALContext } from 'node-seal';
import type { SealModule } from './seal-module.js';

/**
 * The byte layout of SEAL 4.1's uncompressed ciphertext serialisation, learnt from two
 * ciphertexts SEAL writes at context creation rather than hard-coded: a 16-byte SEAL header,
 * the members (parms_id, NTT flag, size, N, modulus count, scale, correction factor), a DynArray
 * (own header, element count, 64-bit words) and, for seeded ciphertexts, the PRNG info (own header,
 * PRNG type byte, 64-byte seed) that replaces the second polynomial.
 *
 * Everything before the words is identical for every honest ciphertext of the context, so it is
 * compared byte for byte; a ciphertext of another size, level or form cannot pass.
 */
export const SEAL_WORDS_OFFSET = 113;
const SEAL_MAGIC = 0xa15e;
const SEED_INFO_BYTES = 16 + 1 + 64;
export const SEED_BYTES = 65; // PRNG type byte + 64-byte seed

/** A SEAL serialisation kept in a buffer where the 64-bit words are 4-byte aligned. */
export interface SealTemplate {
  /** The whole serialisation (what loadFromArray takes). */
  readonly bytes: Uint8Array;
  /** The polynomial words, two Uint32 per coefficient, aliasing `bytes`. */
  readonly words: Uint32Array;
  /** Where the PRNG type byte and seed start in `bytes` (seeded layout only). */
  readonly seedOffset: number;
}

function aligned(source: Uint8Array, wordCount: number, seeded: boolean): SealTemplate {
  // SEAL_WORDS_OFFSET is 1 mod 4: start the copy 3 bytes into the buffer.
  const buffer = new ArrayBuffer(source.byteLength + 3);
  const bytes = new Uint8Array(buffer, 3, source.byteLength);
  bytes.set(source);
  const words = new Uint32Array(buffer, 3 + SEAL_WORDS_OFFSET, wordCount * 2);
  return { bytes, words, seedOffset: seeded ? SEAL_WORDS_OFFSET + wordCount * 8 + 16 : -1 };
}

function u64(bytes: Uint8Array, offset: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Number(view.getBigUint64(offset, true));
}

/** Checks the structure SEAL wrote; throws if this SEAL build serialises differently. */
function checkStructure(bytes: Uint8Array, n: number, words: number, seeded: boolean): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const expectedLength = SEAL_WORDS_OFFSET + words * 8 + (seeded ? SEED_INFO_BYTES : 0);
  const ok = view.getUint16(0, true) === SEAL_MAGIC && bytes[2] === 16 && bytes[5] === 0 &&
    u64(bytes, 8) === bytes.byteLength && bytes.byteLength === expectedLength &&
    u64(bytes, 49) === 2 && u64(bytes, 57) === n && u64(bytes, 65) === 1 &&
    view.getUint16(89, true) === SEAL_MAGIC && u64(bytes, 89 + 8) === 16 + 8 + words * 8 && u64(bytes, 105) === words &&
    (!seeded || (view.getUint16(SEAL_WORDS_OFFSET + words * 8, true) === SEAL_MAGIC && u64(bytes, SEAL_WORDS_OFFSET + words * 8 + 8) === SEED_INFO_BYTES));
  if (!ok) throw new Error(`node-seal serialises ciphertexts in an unexpected layout (N=${n}, seeded=${seeded}); the HE wire codec must be revisited`);
}

export interface SealTemplates {
  readonly seeded: SealTemplate;
  readonly full: SealTemplate;
  /** The PRNG type byte SEAL writes with seeds (Blake2xb). */
  readonly prngType: number;
}

/** Encrypts zero under a throwaway key to learn the layouts; the key is destroyed before returning. */
export function learnTemplates(seal: SealModule, context: SEALContext, encoder: BatchEncoder, n: number): SealTemplates {
  const keygen = new seal.KeyGenerator(context);
  const secretKey = keygen.secretKey();
  const publicKey = keygen.createPublicKey();
  const encryptor: Encryptor = new seal.Encryptor(context, publicKey, secretKey);
  const plain = new seal.Plaintext();
  const full: Ciphertext = new seal.Ciphertext();
  try {
    encoder.encode(new BigUint64Array(n), plain);
    const serializable = encryptor.encryptSymmetricSerializable(plain);
    const seededBytes = serializable.saveToArray(seal.ComprModeType.none) as Uint8Array;
    serializable.delete();
    encryptor.encryptSymmetric(plain, full);
    const fullBytes = full.saveToArray(seal.ComprModeType.none) as Uint8Array;
    checkStructure(seededBytes, n, n, true);
    checkStructure(fullBytes, n, 2 * n, false);
    const seeded = aligned(seededBytes, n, true);
    return { seeded, full: aligned(fullBytes, 2 * n, false), prngType: seeded.bytes[seeded.seedOffset]! };
  } finally {
    for (const handle of [full, plain, encryptor, publicKey, secretKey, keygen]) handle.delete();
  }
}

/** True when `bytes` starts exactly like the template (same header, parms_id, size, level, form). */
export function samePrefix(bytes: Uint8Array, template: SealTemplate): boolean {
  if (bytes.byteLength !== template.bytes.byteLength) return false;
  const t = template.bytes;
  for (let i = 0; i < SEAL_WORDS_OFFSET; i++) if (bytes[i] !== t[i]) return false;
  if (template.seedOffset >= 0) {
    for (let i = template.seedOffset - 16; i < template.seedOffset + 1; i++) if (bytes[i] !== t[i]) return false;
  }
  return true;
}
