import { isUtf8 } from 'node:buffer';

/**
 * What a file's first bytes say it is, decided by content, never by name: a renamed archive or a
 * key saved as `.txt` is judged by what it holds.
 */
export type SniffedFormat =
  | { readonly kind: 'gzip' }
  | { readonly kind: 'tar' }
  /** A compressed or archive format the gate does not open. */
  | { readonly kind: 'unsupported'; readonly format: string }
  | { readonly kind: 'text'; readonly encoding: 'latin1' | 'utf-16le' | 'utf-16be' }
  | { readonly kind: 'binary' };

/** Enough for the tar magic (offset 257) and for a fair look at whether the bytes are text. */
export const SNIFF_BYTES = 8192;

const TAR_MAGIC_OFFSET = 257;

const UNSUPPORTED_MAGIC: ReadonlyArray<{ readonly format: string; readonly magic: readonly number[] }> = [
  { format: 'zip', magic: [0x50, 0x4b, 0x03, 0x04] },
  { format: 'zip', magic: [0x50, 0x4b, 0x05, 0x06] },
  { format: 'zip', magic: [0x50, 0x4b, 0x07, 0x08] },
  { format: 'xz', magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { format: 'zstd', magic: [0x28, 0xb5, 0x2f, 0xfd] },
  { format: '7z', magic: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c] },
  { format: 'rar', magic: [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07] },
  { format: 'lz4', magic: [0x04, 0x22, 0x4d, 0x18] },
];

/** Share of bytes that are neither printable ASCII, common whitespace, nor part of UTF-8, above which bytes are binary. */
const MAX_ODD_SHARE = 0.1;

export function sniffFormat(head: Buffer): SniffedFormat {
  if (isGzipHeader(head)) return { kind: 'gzip' };
  if (head.length >= TAR_MAGIC_OFFSET + 5 && head.toString('latin1', TAR_MAGIC_OFFSET, TAR_MAGIC_OFFSET + 5) === 'ustar') return { kind: 'tar' };
  for (const { format, magic } of UNSUPPORTED_MAGIC) {
    if (head.length >= magic.length && magic.every((byte, index) => head[index] === byte)) return { kind: 'unsupported', format };
  }
  if (head.length >= 4 && head.toString('latin1', 0, 3) === 'BZh' && head[3]! >= 0x31 && head[3]! <= 0x39) return { kind: 'unsupported', format: 'bzip2' };
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return { kind: 'text', encoding: 'utf-16le' };
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return { kind: 'text', encoding: 'utf-16be' };
  return looksLikeText(head) ? { kind: 'text', encoding: 'latin1' } : { kind: 'binary' };
}

/**
 * The gzip magic, the deflate method (the only one defined) and no reserved flag bits: random bytes
 * (model weights, ciphertext) start like this about once in 130 million, not once in 65,536.
 */
export function isGzipHeader(head: Buffer): boolean {
  return head.length >= 4 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08 && (head[3]! & 0xe0) === 0;
}

/**
 * Text: no NUL byte, and either valid UTF-8 or only a few bytes outside printable ASCII (a Latin-1
 * config file is text; compiled code, images and weights are not).
 */
function looksLikeText(head: Buffer): boolean {
  if (head.includes(0)) return false;
  if (isUtf8Prefix(head)) return true;
  let odd = 0;
  for (const byte of head) {
    if ((byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0c && byte !== 0x0d && byte !== 0x1b) || byte === 0x7f || byte >= 0x80) odd += 1;
  }
  return odd <= head.length * MAX_ODD_SHARE;
}

/** Valid UTF-8, allowing the sniff window to end inside a multi-byte character. */
function isUtf8Prefix(head: Buffer): boolean {
  let end = head.length;
  for (let back = 1; back <= 3 && back <= head.length; back += 1) {
    const byte = head[head.length - back]!;
    if ((byte & 0xc0) !== 0x80) {
      const width = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
      if (width > back) end = head.length - back;
      break;
    }
  }
  return isUtf8(head.subarray(0, end));
}
