import canonicalize from 'canonicalize';
import type { HeContext } from './context.js';
import { checkEncoding, chunkCountFor, type HeEncoding } from './encoding.js';
import { HeError, type HeErrorCode } from './errors.js';

/**
 * What an encrypted vector is: parameters, key, length and value encoding. The same header
 * describes a site's upload and (with the contributor list) an aggregate, so the coordinator can
 * build the header it expects from the job alone and refuse anything else.
 */
export interface HeVectorHeader {
  readonly format: 'medfed-he-vector/1';
  readonly paramSetId: string;
  /** SHA-256 hex of the parameter set description. */
  readonly paramsDigest: string;
  /** Public id of the job's secret key (hex, 16 bytes). */
  readonly keyId: string;
  readonly valueCount: number;
  readonly chunkCount: number;
  readonly encoding: HeEncoding;
}

export interface HeSumHeader extends Omit<HeVectorHeader, 'format'> {
  readonly format: 'medfed-he-sum/1';
  /** Contributor ids, every one of which added every chunk. */
  readonly contributors: readonly string[];
}

/** A site's upload: the header and its chunks (each a self-contained ciphertext). */
export interface EncryptedVector {
  readonly header: HeVectorHeader;
  readonly chunks: readonly Uint8Array[];
}

export interface EncryptedSum {
  readonly header: HeSumHeader;
  readonly chunks: readonly Uint8Array[];
}

/** Upper bound on a vector's length (4·10^9 parameters would be 15 GB of ciphertext). */
export const MAX_VALUE_COUNT = 2 ** 32 - 1;
const MAX_CONTRIBUTOR_ID = 200;

/** The header a vector of `valueCount` values under this context, key and encoding has. */
export function vectorHeader(context: HeContext, keyId: string, valueCount: number, encoding: HeEncoding): HeVectorHeader {
  checkEncoding(context.paramSet, encoding);
  if (!Number.isSafeInteger(valueCount) || valueCount < 1 || valueCount > MAX_VALUE_COUNT) {
    throw new HeError('HE_SHAPE_MISMATCH', `valueCount must be an integer in 1..${MAX_VALUE_COUNT}; got ${valueCount}`);
  }
  return {
    format: 'medfed-he-vector/1',
    paramSetId: context.paramSet.id,
    paramsDigest: context.digest,
    keyId,
    valueCount,
    chunkCount: chunkCountFor(context.paramSet, valueCount),
    encoding: encoding.kind === 'fixed-point'
      ? { kind: 'fixed-point', clip: encoding.clip, fracBits: encoding.fracBits, maxSites: encoding.maxSites }
      : { kind: 'exact', maxAbs: encoding.maxAbs, maxSites: encoding.maxSites },
  };
}

function fail(code: HeErrorCode, message: string): never {
  throw new HeError(code, message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function exactKeys(value: Record<string, unknown>, keys: readonly string[], what: string, code: HeErrorCode): void {
  const extra = Object.keys(value).filter((k) => !keys.includes(k));
  const missing = keys.filter((k) => !Object.hasOwn(value, k));
  if (extra.length > 0 || missing.length > 0) fail(code, `${what} has unexpected fields [${extra.join(', ')}] or lacks [${missing.join(', ')}]`);
}

/**
 * Checks a parsed header against the context: the parameter set first (HE_PARAMS_MISMATCH), then
 * every field's type and the chunk count the length implies. `code` is the error for structural
 * problems (malformed upload vs unreadable stored state).
 */
export function parseHeader(context: HeContext, value: unknown, format: 'medfed-he-vector/1' | 'medfed-he-sum/1', code: HeErrorCode): HeVectorHeader | HeSumHeader {
  if (!isRecord(value)) fail(code, 'header is not a JSON object');
  if (value.format !== format) fail(code, `header format is ${JSON.stringify(value.format)}, expected ${format}`);
  if (value.paramSetId !== context.paramSet.id || value.paramsDigest !== context.digest) {
    fail('HE_PARAMS_MISMATCH', `vector is under parameter set ${JSON.stringify(value.paramSetId)} (digest ${JSON.stringify(value.paramsDigest)}), but the job uses ${context.paramSet.id} (digest ${context.digest})`);
  }
  const keys = ['format', 'paramSetId', 'paramsDigest', 'keyId', 'valueCount', 'chunkCount', 'encoding'];
  exactKeys(value, format === 'medfed-he-sum/1' ? [...keys, 'contributors'] : keys, 'header', code);
  if (typeof value.keyId !== 'string' || !/^[0-9a-f]{32}$/.test(value.keyId)) fail(code, 'header keyId must be 32 lowercase hex digits');
  if (!isRecord(value.encoding)) fail(code, 'header encoding must be an object');
  const enc = value.encoding;
  if (enc.kind === 'fixed-point') exactKeys(enc, ['kind', 'clip', 'fracBits', 'maxSites'], 'encoding', code);
  else if (enc.kind === 'exact') exactKeys(enc, ['kind', 'maxAbs', 'maxSites'], 'encoding', code);
  else fail(code, `encoding kind ${JSON.stringify(enc.kind)} is unknown`);
  let header: HeVectorHeader;
  try {
    header = vectorHeader(context, value.keyId, value.valueCount as number, enc as unknown as HeEncoding);
  } catch (err) {
    if (err instanceof HeError) fail(code, `header is invalid: ${err.message}`);
    throw err;
  }
  if (value.chunkCount !== header.chunkCount) fail(code, `header says ${String(value.chunkCount)} chunks; ${header.valueCount} values take ${header.chunkCount}`);
  if (format === 'medfed-he-vector/1') return header;
  const contributors = value.contributors;
  if (!Array.isArray(contributors) || contributors.length < 1 || contributors.length > header.encoding.maxSites ||
    !contributors.every(isContributorId) || new Set(contributors).size !== contributors.length) {
    fail(code, `contributors must be 1..${header.encoding.maxSites} distinct non-empty ids of at most ${MAX_CONTRIBUTOR_ID} characters`);
  }
  return { ...header, format: 'medfed-he-sum/1', contributors: [...contributors] as string[] };
}

export function isContributorId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_CONTRIBUTOR_ID;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Canonical JSON bytes of a header (the stream's first message). */
export function encodeHeader(header: HeVectorHeader | HeSumHeader): Uint8Array {
  return encoder.encode(canonicalize(header)!);
}

/** Parses and checks an upload header sent on its own (the stream's first message). */
export function decodeVectorHeader(context: HeContext, bytes: Uint8Array): HeVectorHeader {
  return parseHeader(context, decodeHeaderJson(bytes, 'HE_CIPHERTEXT_MALFORMED'), 'medfed-he-vector/1', 'HE_CIPHERTEXT_MALFORMED') as HeVectorHeader;
}

/** Parses header bytes; `code` reports unreadable JSON. */
export function decodeHeaderJson(bytes: Uint8Array, code: HeErrorCode): unknown {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch {
    return fail(code, 'header is not valid UTF-8 JSON');
  }
}

/**
 * Container: magic (4) | header length u32le | header JSON | chunk count u32le |
 * for each chunk: length u32le | bytes.
 */
export function encodeContainer(magic: string, header: HeVectorHeader | HeSumHeader | object, chunks: readonly Uint8Array[]): Uint8Array {
  const headerBytes = encoder.encode(canonicalize(header)!);
  const total = 4 + 4 + headerBytes.byteLength + 4 + chunks.reduce((sum, c) => sum + 4 + c.byteLength, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(encoder.encode(magic), 0);
  view.setUint32(4, headerBytes.byteLength, true);
  out.set(headerBytes, 8);
  let o = 8 + headerBytes.byteLength;
  view.setUint32(o, chunks.length, true);
  o += 4;
  for (const chunk of chunks) {
    view.setUint32(o, chunk.byteLength, true);
    out.set(chunk, o + 4);
    o += 4 + chunk.byteLength;
  }
  return out;
}

/** Splits a container; chunks are views into `bytes`. Lengths are checked before anything is allocated. */
export function decodeContainer(magic: string, bytes: Uint8Array, code: HeErrorCode): { header: unknown; chunks: Uint8Array[] } {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength < 12) fail(code, `container of ${bytes?.byteLength} bytes is too short`);
  if (new TextDecoder().decode(bytes.subarray(0, 4)) !== magic) fail(code, `bytes do not start with the ${magic} magic`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(4, true);
  if (8 + headerLength + 4 > bytes.byteLength) fail(code, `header length ${headerLength} runs past the end (${bytes.byteLength} bytes)`);
  const header = decodeHeaderJson(bytes.subarray(8, 8 + headerLength), code);
  let o = 8 + headerLength;
  const count = view.getUint32(o, true);
  o += 4;
  if (count * 4 > bytes.byteLength - o) fail(code, `${count} chunks cannot fit in the remaining ${bytes.byteLength - o} bytes`);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    if (o + 4 > bytes.byteLength) fail(code, `chunk ${i} length is truncated`);
    const length = view.getUint32(o, true);
    o += 4;
    if (o + length > bytes.byteLength) fail(code, `chunk ${i} (${length} bytes) is truncated`);
    chunks.push(bytes.subarray(o, o + length));
    o += length;
  }
  if (o !== bytes.byteLength) fail(code, `${bytes.byteLength - o} trailing bytes after the last chunk`);
  return { header, chunks };
}

const VECTOR_MAGIC = 'MFHV';
const SUM_MAGIC = 'MFHS';

export function encodeEncryptedVector(vector: EncryptedVector): Uint8Array {
  return encodeContainer(VECTOR_MAGIC, vector.header, vector.chunks);
}

/** Decodes a whole upload and checks its header against the job's context (chunks are checked when added). */
export function decodeEncryptedVector(context: HeContext, bytes: Uint8Array): EncryptedVector {
  const { header, chunks } = decodeContainer(VECTOR_MAGIC, bytes, 'HE_CIPHERTEXT_MALFORMED');
  const parsed = parseHeader(context, header, 'medfed-he-vector/1', 'HE_CIPHERTEXT_MALFORMED') as HeVectorHeader;
  if (chunks.length !== parsed.chunkCount) fail('HE_CIPHERTEXT_MALFORMED', `vector carries ${chunks.length} chunks; its header announces ${parsed.chunkCount}`);
  return { header: parsed, chunks };
}

export function encodeEncryptedSum(sum: EncryptedSum): Uint8Array {
  return encodeContainer(SUM_MAGIC, sum.header, sum.chunks);
}

export function decodeEncryptedSum(context: HeContext, bytes: Uint8Array): EncryptedSum {
  const { header, chunks } = decodeContainer(SUM_MAGIC, bytes, 'HE_CIPHERTEXT_MALFORMED');
  const parsed = parseHeader(context, header, 'medfed-he-sum/1', 'HE_CIPHERTEXT_MALFORMED') as HeSumHeader;
  if (chunks.length !== parsed.chunkCount) fail('HE_CIPHERTEXT_MALFORMED', `sum carries ${chunks.length} chunks; its header announces ${parsed.chunkCount}`);
  return { header: parsed, chunks };
}
