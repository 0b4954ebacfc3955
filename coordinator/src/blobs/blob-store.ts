/**
 * Where model and update payloads live. Keys are chosen by the caller (content-addressed in
 * practice); a `put` is atomic: a reader sees the whole blob or none of it.
 */
export interface BlobStore {
  put(key: string, bytes: Uint8Array): Promise<void>;
  get(key: string): Promise<Buffer>;
  has(key: string): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Every stored key, for scans (retention, the blindness tests). */
  list(): Promise<string[]>;
  /**
   * `put` from a stream, without holding the whole payload in memory; as atomic as `put`. When
   * `source` throws, nothing is stored and its error propagates unchanged.
   */
  putStream?(key: string, source: AsyncIterable<Uint8Array>): Promise<void>;
  /**
   * `get` piece by piece. A store that records digests verifies the last piece before yielding it,
   * so a consumer that reached the end has seen exactly the stored bytes.
   */
  getStream?(key: string): AsyncIterable<Buffer>;
}
