import { randomBytes } from 'node:crypto';

/**
 * Where every random bit of the privacy toolkit comes from. Injected so that tests can prove a fixed
 * source gives fixed output; the only source used in production is `cryptoByteSource`.
 */
export type ByteSource = (length: number) => Uint8Array;

/**
 * The operating system's CSPRNG (node:crypto randomBytes), read in blocks so that the samplers,
 * which consume a few bytes at a time, do not pay one system call per draw.
 */
export function cryptoByteSource(blockSize = 4096): ByteSource {
  let block = new Uint8Array(0);
  let offset = 0;
  return (length) => {
    if (length > blockSize) return new Uint8Array(randomBytes(length));
    if (offset + length > block.length) {
      block = new Uint8Array(randomBytes(blockSize));
      offset = 0;
    }
    const out = block.slice(offset, offset + length);
    // Bytes handed out are wiped from the block so they can never be served twice.
    block.fill(0, offset, offset + length);
    offset += length;
    return out;
  };
}

let shared: ByteSource | undefined;

/** The process-wide CSPRNG source used whenever a caller passes none. */
export function defaultByteSource(): ByteSource {
  shared ??= cryptoByteSource();
  return shared;
}
