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
}
