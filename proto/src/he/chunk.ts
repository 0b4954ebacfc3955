import type { Ciphertext } from 'node-seal';
import { packPoly, unpackPoly } from './coeff-pack.js';
import type { HeContext } from './context.js';
import { HeError } from './errors.js';
import { SEAL_WORDS_OFFSET, SEED_BYTES, samePrefix } from './seal-layout.js';

/**
 * One ciphertext on the wire, loadable on its own (a gRPC stream message):
 *
 *   'MFHC' | version u8 | kind u8 | id length u8 | parameter set id (ASCII) | params digest (32)
 *   | key id (16) | chunk index u32le | chunk count u32le | payload
 *
 * kind 1 (fresh, what sites upload): PRNG type + seed (65) | c0 packed — the second polynomial is
 * regenerated from the seed, which halves the upload. kind 2 (sum): c0 packed | c1 packed.
 * Every field is checked before any byte reaches SEAL, and payload lengths are exact.
 */
export const CHUNK_KIND = { fresh: 1, sum: 2 } as const;
export type ChunkKind = (typeof CHUNK_KIND)[keyof typeof CHUNK_KIND];

const MAGIC = Uint8Array.of(0x4d, 0x46, 0x48, 0x43); // 'MFHC'
const VERSION = 1;
const KEY_ID_BYTES = 16;

export function chunkHeaderBytes(context: HeContext): number {
  return 4 + 1 + 1 + 1 + context.paramSet.id.length + 32 + KEY_ID_BYTES + 4 + 4;
}

export function chunkBytes(context: HeContext, kind: ChunkKind): number {
  return chunkHeaderBytes(context) + (kind === CHUNK_KIND.fresh ? SEED_BYTES + context.polyBytes : 2 * context.polyBytes);
}

/** Allocates a chunk and writes its header; returns the chunk and the payload offset. */
export function newChunk(context: HeContext, kind: ChunkKind, keyIdBytes: Uint8Array, index: number, count: number): { chunk: Uint8Array; offset: number } {
  const chunk = new Uint8Array(chunkBytes(context, kind));
  const id = context.paramSet.id;
  chunk.set(MAGIC, 0);
  chunk[4] = VERSION;
  chunk[5] = kind;
  chunk[6] = id.length;
  for (let i = 0; i < id.length; i++) chunk[7 + i] = id.charCodeAt(i);
  let o = 7 + id.length;
  chunk.set(context.digestBytes, o);
  o += 32;
  chunk.set(keyIdBytes, o);
  o += KEY_ID_BYTES;
  const view = new DataView(chunk.buffer);
  view.setUint32(o, index, true);
  view.setUint32(o + 4, count, true);
  return { chunk, offset: o + 8 };
}

function malformed(message: string): never {
  throw new HeError('HE_CIPHERTEXT_MALFORMED', message);
}

function equalBytes(a: Uint8Array, aOffset: number, b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (a[aOffset + i] !== b[i]) return false;
  return true;
}

function hex(bytes: Uint8Array, offset: number, length: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + offset, length).toString('hex');
}

export interface ChunkExpectation {
  readonly kind: ChunkKind;
  readonly keyIdBytes: Uint8Array;
  readonly chunkCount: number;
}

/**
 * Validates a chunk's header against the job (parameters first, then key, then position, then
 * exact length) and returns its index and payload offset.
 */
export function readChunkHeader(context: HeContext, chunk: Uint8Array, expected: ChunkExpectation): { index: number; offset: number } {
  if (!(chunk instanceof Uint8Array)) malformed('a chunk must be a byte array');
  if (chunk.byteLength < 7 || !equalBytes(chunk, 0, MAGIC)) malformed(`chunk of ${chunk?.byteLength} bytes does not start with the MFHC magic; it is not a medfed HE ciphertext`);
  if (chunk[4] !== VERSION) malformed(`chunk format version ${chunk[4]} is not supported (expected ${VERSION})`);
  const idLength = chunk[6]!;
  const headerLength = 7 + idLength + 32 + KEY_ID_BYTES + 8;
  if (chunk.byteLength < headerLength) malformed(`chunk is truncated: ${chunk.byteLength} bytes cannot hold its ${headerLength}-byte header`);
  const id = String.fromCharCode(...chunk.subarray(7, 7 + idLength));
  let o = 7 + idLength;
  if (id !== context.paramSet.id || !equalBytes(chunk, o, context.digestBytes)) {
    throw new HeError('HE_PARAMS_MISMATCH', `ciphertext was made under parameter set ${JSON.stringify(id)} (digest ${hex(chunk, o, 32)}), but the job uses "${context.paramSet.id}" (digest ${context.digest}); re-encrypt under the job's parameters`);
  }
  o += 32;
  if (!equalBytes(chunk, o, expected.keyIdBytes)) {
    throw new HeError('HE_KEY_MISMATCH', `ciphertext is under key ${hex(chunk, o, KEY_ID_BYTES)}, but the job's key is ${Buffer.from(expected.keyIdBytes).toString('hex')}; the site must use the key of the current epoch`);
  }
  o += KEY_ID_BYTES;
  if (chunk[5] !== expected.kind) malformed(`chunk kind ${chunk[5]} where kind ${expected.kind} (${expected.kind === CHUNK_KIND.fresh ? 'fresh upload' : 'sum'}) is expected`);
  const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const index = view.getUint32(o, true);
  const count = view.getUint32(o + 4, true);
  if (count !== expected.chunkCount || index >= count) {
    throw new HeError('HE_SHAPE_MISMATCH', `chunk says it is ${index} of ${count}, but the vector has ${expected.chunkCount} chunks`);
  }
  const length = chunkBytes(context, expected.kind);
  if (chunk.byteLength !== length) malformed(`chunk ${index} has ${chunk.byteLength} bytes; an honest ${expected.kind === CHUNK_KIND.fresh ? 'fresh' : 'sum'} ciphertext under ${context.paramSet.id} has exactly ${length}`);
  return { index, offset: o + 8 };
}

function load(context: HeContext, bytes: Uint8Array, index: number, into: Ciphertext): void {
  try {
    into.loadFromArray(context.sealContext, bytes);
  } catch (err) {
    malformed(`SEAL refused chunk ${index}: ${err instanceof Error ? err.message : 'invalid ciphertext'}`);
  }
  if (into.size() !== 2 || into.coeffModulusSize() !== 1 || into.isNttForm() || into.polyModulusDegree() !== context.slotCount) {
    malformed(`chunk ${index} did not load as a fresh size-2 ciphertext at the first level`);
  }
}

/** Loads a fresh (seeded) chunk into `into`; SEAL regenerates c1 from the seed. */
export function loadFreshChunk(context: HeContext, chunk: Uint8Array, expected: ChunkExpectation, into: Ciphertext): number {
  const { index, offset } = readChunkHeader(context, chunk, expected);
  const template = context.templates.seeded;
  if (chunk[offset] !== context.templates.prngType) malformed(`chunk ${index} names PRNG type ${chunk[offset]}; only ${context.templates.prngType} is accepted`);
  if (!unpackPoly(chunk, offset + SEED_BYTES, context.slotCount, context.coeffBits, context.coeffLimbs, template.words)) {
    malformed(`chunk ${index} has a coefficient not below the modulus or non-zero padding`);
  }
  template.bytes.set(chunk.subarray(offset, offset + SEED_BYTES), template.seedOffset);
  load(context, template.bytes, index, into);
  return index;
}

/** Loads a sum chunk (both polynomials) into `into`. */
export function loadSumChunk(context: HeContext, chunk: Uint8Array, expected: ChunkExpectation, into: Ciphertext): number {
  const { index, offset } = readChunkHeader(context, chunk, expected);
  const words = context.templates.full.words;
  const n = context.slotCount;
  if (!unpackPoly(chunk, offset, n, context.coeffBits, context.coeffLimbs, words.subarray(0, 2 * n)) ||
    !unpackPoly(chunk, offset + context.polyBytes, n, context.coeffBits, context.coeffLimbs, words.subarray(2 * n))) {
    malformed(`sum chunk ${index} has a coefficient not below the modulus or non-zero padding`);
  }
  load(context, context.templates.full.bytes, index, into);
  return index;
}

/** Serialises a fresh seeded ciphertext as SEAL wrote it (`sealBytes`) into a chunk. */
export function freshChunkFromSeal(context: HeContext, sealBytes: Uint8Array, keyIdBytes: Uint8Array, index: number, count: number): Uint8Array {
  const template = context.templates.seeded;
  if (!samePrefix(sealBytes, template)) throw new Error('SEAL produced a seeded ciphertext in an unexpected layout');
  const n = context.slotCount;
  const words = scratchWords(context);
  new Uint8Array(words.buffer, 0, n * 8).set(sealBytes.subarray(SEAL_WORDS_OFFSET, SEAL_WORDS_OFFSET + n * 8));
  const { chunk, offset } = newChunk(context, CHUNK_KIND.fresh, keyIdBytes, index, count);
  chunk.set(sealBytes.subarray(template.seedOffset, template.seedOffset + SEED_BYTES), offset);
  packPoly(words, n, context.coeffBits, chunk, offset + SEED_BYTES);
  return chunk;
}

/** Serialises a (sum) ciphertext into a chunk of kind 2. */
export function sumChunkFromCiphertext(context: HeContext, cipher: Ciphertext, keyIdBytes: Uint8Array, index: number, count: number): Uint8Array {
  const sealBytes = cipher.saveToArray(context.seal.ComprModeType.none) as Uint8Array;
  if (!samePrefix(sealBytes, context.templates.full)) throw new Error(`sum ciphertext ${index} is not a size-2 first-level ciphertext`);
  const n = context.slotCount;
  const words = scratchWords(context);
  new Uint8Array(words.buffer, 0, n * 16).set(sealBytes.subarray(SEAL_WORDS_OFFSET, SEAL_WORDS_OFFSET + n * 16));
  const { chunk, offset } = newChunk(context, CHUNK_KIND.sum, keyIdBytes, index, count);
  packPoly(words, n, context.coeffBits, chunk, offset);
  packPoly(words.subarray(2 * n), n, context.coeffBits, chunk, offset + context.polyBytes);
  return chunk;
}

const packScratch = new WeakMap<HeContext, Uint32Array>();

function scratchWords(context: HeContext): Uint32Array {
  let words = packScratch.get(context);
  if (words === undefined) {
    words = new Uint32Array(4 * context.slotCount);
    packScratch.set(context, words);
  }
  return words;
}
