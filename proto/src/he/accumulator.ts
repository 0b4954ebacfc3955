import type { Ciphertext } from 'node-seal';
import { CHUNK_KIND, loadFreshChunk, loadSumChunk, sumChunkFromCiphertext, type ChunkExpectation } from './chunk.js';
import type { HeContext } from './context.js';
import { HeError } from './errors.js';
import {
  decodeContainer, encodeContainer, encodeEncryptedSum, isContributorId, parseHeader,
  type EncryptedVector, type HeVectorHeader,
} from './vector.js';

const STATE_MAGIC = 'MFHA';
const STATE_FORMAT = 'medfed-he-accumulator/1';
/** Encrypted jobs need at least 3 sites; a smaller sum would let a decrypting site isolate another's update. */
export const DEFAULT_MIN_CONTRIBUTORS = 3;

function sameHeader(a: HeVectorHeader, b: HeVectorHeader): boolean {
  return a.valueCount === b.valueCount && a.chunkCount === b.chunkCount && JSON.stringify(a.encoding) === JSON.stringify(b.encoding);
}

/**
 * The coordinator's running encrypted sum: one ciphertext per chunk index, plus which contributor
 * added which chunk. Chunks are added as they stream in (in any order), memory stays one
 * ciphertext per chunk, and the state can be saved and loaded so it is persisted together with the
 * contribution record. The coordinator never holds a key: it adds what it cannot read.
 */
export class EncryptedAccumulator {
  readonly context: HeContext;
  readonly header: HeVectorHeader;
  readonly #expect: ChunkExpectation;
  readonly #sums: (Ciphertext | undefined)[];
  readonly #contributors: string[] = [];
  /** Per chunk, the indices (into #contributors) that added it. */
  readonly #added: Set<number>[];
  #disposed = false;

  private constructor(context: HeContext, header: HeVectorHeader) {
    this.context = context;
    this.header = header;
    this.#expect = { kind: CHUNK_KIND.fresh, keyIdBytes: Uint8Array.from(Buffer.from(header.keyId, 'hex')), chunkCount: header.chunkCount };
    this.#sums = new Array<Ciphertext | undefined>(header.chunkCount).fill(undefined);
    this.#added = Array.from({ length: header.chunkCount }, () => new Set<number>());
  }

  /** An empty sum for vectors with exactly this header (build it with vectorHeader() from the job). */
  static create(context: HeContext, expected: HeVectorHeader): EncryptedAccumulator {
    const header = parseHeader(context, expected, 'medfed-he-vector/1', 'HE_SHAPE_MISMATCH') as HeVectorHeader;
    return new EncryptedAccumulator(context, header);
  }

  /** Refuses an upload header that is not the expected one, before any chunk is read. */
  checkHeader(header: HeVectorHeader): void {
    const parsed = parseHeader(this.context, header, 'medfed-he-vector/1', 'HE_CIPHERTEXT_MALFORMED') as HeVectorHeader;
    if (parsed.keyId !== this.header.keyId) {
      throw new HeError('HE_KEY_MISMATCH', `upload is under key ${parsed.keyId}; this aggregate uses key ${this.header.keyId}`);
    }
    if (!sameHeader(parsed, this.header)) {
      throw new HeError('HE_SHAPE_MISMATCH', `upload has ${parsed.valueCount} values encoded as ${JSON.stringify(parsed.encoding)}; ` +
        `the aggregate expects ${this.header.valueCount} values encoded as ${JSON.stringify(this.header.encoding)}`);
    }
  }

  #live(): void {
    if (this.#disposed) throw new HeError('HE_DISPOSED', 'this accumulator was disposed; load its saved state again');
  }

  #contributorIndex(contributorId: string): number {
    if (!isContributorId(contributorId)) throw new HeError('HE_SHAPE_MISMATCH', 'contributorId must be a non-empty string of at most 200 characters');
    let index = this.#contributors.indexOf(contributorId);
    if (index < 0) {
      const limit = this.header.encoding.maxSites;
      if (this.#contributors.length >= limit) {
        throw new HeError('HE_TOO_MANY_SUMMANDS', `contributor ${JSON.stringify(contributorId)} would be number ${limit + 1}; this aggregate's encoding allows maxSites=${limit}`);
      }
      this.#contributors.push(contributorId);
      index = this.#contributors.length - 1;
    }
    return index;
  }

  /** Loads a fresh chunk into the scratch ciphertext and checks it is not a duplicate. */
  #loadChunk(contributor: number, chunk: Uint8Array): number {
    const scratch = this.context.scratchCipher;
    const index = loadFreshChunk(this.context, chunk, this.#expect, scratch);
    if (this.#added[index]!.has(contributor)) {
      throw new HeError('HE_DUPLICATE_CHUNK', `contributor ${JSON.stringify(this.#contributors[contributor])} already added chunk ${index}`);
    }
    return index;
  }

  #accumulate(contributor: number, index: number): void {
    const scratch = this.context.scratchCipher;
    const sum = this.#sums[index];
    if (sum === undefined) this.#sums[index] = scratch.copy();
    else this.context.evaluator.addInplace(sum, scratch);
    this.#added[index]!.add(contributor);
  }

  /**
   * Validates one uploaded chunk and adds it; returns its chunk index. A failed chunk leaves the
   * sum unchanged, and the contributor may resend that index (any fresh encryption of the same
   * values is as good).
   */
  addChunk(contributorId: string, chunk: Uint8Array): number {
    this.#live();
    const known = this.#contributors.includes(contributorId);
    const contributor = this.#contributorIndex(contributorId);
    try {
      const index = this.#loadChunk(contributor, chunk);
      this.#accumulate(contributor, index);
      return index;
    } catch (err) {
      if (!known) this.#contributors.pop();
      throw err;
    }
  }

  /**
   * Adds a whole upload atomically: if any chunk is refused, the chunks already added are
   * subtracted again (exact, arithmetic mod q) and the error is rethrown.
   */
  addVector(contributorId: string, vector: EncryptedVector): void {
    this.#live();
    this.checkHeader(vector.header);
    if (vector.chunks.length !== this.header.chunkCount) {
      throw new HeError('HE_CIPHERTEXT_MALFORMED', `upload carries ${vector.chunks.length} chunks; ${this.header.chunkCount} expected`);
    }
    const known = this.#contributors.includes(contributorId);
    const contributor = this.#contributorIndex(contributorId);
    const done: number[] = [];
    try {
      for (const chunk of vector.chunks) {
        const index = this.#loadChunk(contributor, chunk);
        this.#accumulate(contributor, index);
        done.push(index);
      }
    } catch (err) {
      this.#rollBack(contributor, vector.chunks.slice(0, done.length), done);
      if (!known) this.#contributors.pop();
      throw err;
    }
  }

  #rollBack(contributor: number, chunks: readonly Uint8Array[], indices: readonly number[]): void {
    const scratch = this.context.scratchCipher;
    chunks.forEach((chunk, i) => {
      const index = indices[i]!;
      this.#added[index]!.delete(contributor);
      if (this.#added[index]!.size === 0) {
        this.#sums[index]?.delete();
        this.#sums[index] = undefined;
        return;
      }
      loadFreshChunk(this.context, chunk, this.#expect, scratch);
      this.context.evaluator.subInplace(this.#sums[index]!, scratch);
    });
  }

  /** Contributor ids that added at least one chunk, in order of first chunk. */
  contributors(): string[] {
    return [...this.#contributors];
  }

  /** Chunk indices a contributor has not added yet (what it must still send). */
  missingChunks(contributorId: string): number[] {
    const contributor = this.#contributors.indexOf(contributorId);
    return this.#added.flatMap((set, index) => (contributor >= 0 && set.has(contributor) ? [] : [index]));
  }

  /** True when every contributor has added every chunk. */
  isComplete(): boolean {
    const n = this.#contributors.length;
    return n > 0 && this.#added.every((set) => set.size === n);
  }

  /**
   * The aggregate for the key holders: a sum container (medfed-he-sum/1) listing the
   * contributors. Refuses a partial aggregate (HE_AGGREGATE_INCOMPLETE) and one with fewer than
   * `minContributors` (default 3) contributions (HE_TOO_FEW_CONTRIBUTORS).
   */
  finish(options: { minContributors?: number } = {}): Uint8Array {
    this.#live();
    const min = options.minContributors ?? DEFAULT_MIN_CONTRIBUTORS;
    if (!this.isComplete()) {
      const incomplete = this.#contributors.filter((id) => this.missingChunks(id).length > 0);
      throw new HeError('HE_AGGREGATE_INCOMPLETE', `contributors [${incomplete.join(', ')}] have not sent every chunk; wait for them or restart the round without them`);
    }
    if (this.#contributors.length < min) {
      throw new HeError('HE_TOO_FEW_CONTRIBUTORS', `${this.#contributors.length} contributors; at least ${min} are needed before the aggregate may be decrypted`);
    }
    const { format: _format, ...fields } = this.header;
    const chunks = this.#sums.map((sum, index) => sumChunkFromCiphertext(this.context, sum!, this.#expect.keyIdBytes, index, this.header.chunkCount));
    return encodeEncryptedSum({ header: { ...fields, format: 'medfed-he-sum/1', contributors: this.contributors() }, chunks });
  }

  /** The running state, to persist in the same transaction as the contribution record. */
  save(): Uint8Array {
    this.#live();
    const chunks = this.#sums.map((sum, index) =>
      sum === undefined ? new Uint8Array(0) : sumChunkFromCiphertext(this.context, sum, this.#expect.keyIdBytes, index, this.header.chunkCount));
    return encodeContainer(STATE_MAGIC, {
      format: STATE_FORMAT,
      vector: this.header,
      contributors: this.#contributors,
      added: this.#added.map((set) => [...set].sort((a, b) => a - b)),
    }, chunks);
  }

  /** Restores a saved state; anything inconsistent is refused with HE_STATE_MALFORMED. */
  static load(context: HeContext, state: Uint8Array): EncryptedAccumulator {
    const bad = (message: string): never => { throw new HeError('HE_STATE_MALFORMED', `accumulator state: ${message}`); };
    const { header, chunks } = decodeContainer(STATE_MAGIC, state, 'HE_STATE_MALFORMED');
    if (typeof header !== 'object' || header === null) return bad('header is not an object');
    const h = header as Record<string, unknown>;
    if (h.format !== STATE_FORMAT) return bad(`format ${JSON.stringify(h.format)} is not ${STATE_FORMAT}`);
    const vector = parseHeader(context, h.vector, 'medfed-he-vector/1', 'HE_STATE_MALFORMED') as HeVectorHeader;
    const acc = new EncryptedAccumulator(context, vector);
    const contributors = h.contributors;
    if (!Array.isArray(contributors) || !contributors.every(isContributorId) || new Set(contributors).size !== contributors.length ||
      contributors.length > vector.encoding.maxSites) return bad('contributors must be distinct ids, at most maxSites');
    const added = h.added;
    if (!Array.isArray(added) || added.length !== vector.chunkCount || chunks.length !== vector.chunkCount) return bad('per-chunk records do not match the chunk count');
    acc.#contributors.push(...(contributors as string[]));
    try {
      added.forEach((list: unknown, index) => {
        if (!Array.isArray(list) || !list.every((i) => Number.isInteger(i) && i >= 0 && i < contributors.length) || new Set(list).size !== list.length) {
          bad(`chunk ${index} names unknown contributors`);
        }
        const chunk = chunks[index]!;
        if ((list as number[]).length === 0) {
          if (chunk.byteLength !== 0) bad(`chunk ${index} has a sum but no contributors`);
          return;
        }
        const sumExpectation = { ...acc.#expect, kind: CHUNK_KIND.sum };
        try {
          if (loadSumChunk(context, chunk, sumExpectation, context.scratchCipher) !== index) bad(`chunk ${index} is stored at the wrong position`);
        } catch (err) {
          if (err instanceof HeError && err.code !== 'HE_STATE_MALFORMED') bad(`chunk ${index}: ${err.message}`);
          throw err;
        }
        acc.#sums[index] = context.scratchCipher.copy();
        for (const i of list as number[]) acc.#added[index]!.add(i);
      });
    } catch (err) {
      acc.dispose();
      throw err;
    }
    return acc;
  }

  /** Frees the SEAL ciphertexts (WebAssembly memory is not garbage-collected). */
  dispose(): void {
    for (const sum of this.#sums) sum?.delete();
    this.#sums.fill(undefined);
    this.#disposed = true;
  }
}
