/** Payloads travel in chunks well under grpc-js's 4 MiB message limit. */
export const CHUNK_BYTES = 256 * 1024;

export function* chunksOf(bytes: Uint8Array, size: number = CHUNK_BYTES): Generator<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += size) {
    yield bytes.subarray(offset, Math.min(offset + size, bytes.byteLength));
  }
}
