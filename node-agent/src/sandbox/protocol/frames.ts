/**
 * The trainer channel's framing: each message is
 *   "MFT1" | u32 LE body length | u32 LE header length | header (UTF-8 JSON) | blobs
 * where the header lists the blobs (`blobs: [{ name, dtype, length }]`) whose bytes follow in order.
 * Typed arrays travel as raw bytes in host order, which is little-endian on every architecture the
 * sandbox supports (x86_64, aarch64); no JSON number ever carries model weights.
 */
export const FRAME_MAGIC = 'MFT1';
const PREFIX = 12;

export type BlobType = 'f32' | 'i32';
export type Blob = Float32Array | Int32Array;

export interface FrameHeader {
  readonly type: string;
  readonly blobs?: readonly { readonly name: string; readonly dtype: BlobType; readonly length: number }[];
  readonly [key: string]: unknown;
}

export interface Frame {
  readonly header: FrameHeader;
  readonly blobs: Readonly<Record<string, Blob>>;
}

export class FrameError extends Error {}

/** Encodes one frame. Blobs are copied into the frame in the header's order. */
export function encodeFrame(header: Omit<FrameHeader, 'blobs'>, blobs: Readonly<Record<string, Blob>> = {}): Buffer {
  const list = Object.entries(blobs).map(([name, data]) => ({ name, dtype: (data instanceof Float32Array ? 'f32' : 'i32') as BlobType, length: data.length }));
  const json = Buffer.from(JSON.stringify({ ...header, blobs: list }), 'utf8');
  const blobBytes = list.reduce((sum, b) => sum + b.length * 4, 0);
  const body = 4 + json.length + blobBytes;
  const out = Buffer.allocUnsafe(8 + body);
  out.write(FRAME_MAGIC, 0, 'ascii');
  out.writeUInt32LE(body, 4);
  out.writeUInt32LE(json.length, 8);
  json.copy(out, PREFIX);
  let at = PREFIX + json.length;
  for (const { name } of list) {
    const data = blobs[name]!;
    Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, at);
    at += data.byteLength;
  }
  return out;
}

/**
 * Reads frames from a byte stream incrementally. `maxFrameBytes` bounds every frame, so a trainer
 * that floods the channel is cut off instead of exhausting the agent's memory.
 */
export class FrameReader {
  private readonly maxFrameBytes: number;
  private readonly maxHeaderBytes: number;
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(options: { maxFrameBytes: number; maxHeaderBytes?: number }) {
    this.maxFrameBytes = options.maxFrameBytes;
    this.maxHeaderBytes = options.maxHeaderBytes ?? 1 << 20;
  }

  /** Appends bytes and returns every frame now complete. Throws FrameError on malformed input. */
  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.buffered < 8) break;
      const head = this.peek(8);
      if (head.toString('ascii', 0, 4) !== FRAME_MAGIC) throw new FrameError('the trainer wrote bytes that are not a frame (bad magic)');
      const body = head.readUInt32LE(4);
      if (body + 8 > this.maxFrameBytes) throw new FrameError(`the trainer sent a ${body + 8}-byte frame; at most ${this.maxFrameBytes} bytes are accepted`);
      if (this.buffered < body + 8) break;
      const bytes = this.take(body + 8);
      frames.push(decodeFrame(bytes, this.maxHeaderBytes));
    }
    return frames;
  }

  /** Bytes received that do not yet form a frame. */
  get pending(): number {
    return this.buffered;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!.subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const frame = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return frame;
  }
}

/** Decodes exactly one complete frame. */
export function decodeFrame(bytes: Buffer, maxHeaderBytes = 1 << 20): Frame {
  if (bytes.length < PREFIX || bytes.toString('ascii', 0, 4) !== FRAME_MAGIC) throw new FrameError('not a frame (bad magic or too short)');
  const body = bytes.readUInt32LE(4);
  if (body + 8 !== bytes.length) throw new FrameError(`frame length field says ${body + 8} bytes, got ${bytes.length}`);
  const headerLength = bytes.readUInt32LE(8);
  if (headerLength > maxHeaderBytes || PREFIX + headerLength > bytes.length) throw new FrameError(`frame header of ${headerLength} bytes is too large or truncated`);
  let header: FrameHeader;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PREFIX, PREFIX + headerLength))) as FrameHeader;
  } catch {
    throw new FrameError('frame header is not UTF-8 JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header) || typeof header.type !== 'string') {
    throw new FrameError('frame header must be an object with a string type');
  }
  const list = header.blobs ?? [];
  if (!Array.isArray(list)) throw new FrameError('frame header blobs must be a list');
  const blobs: Record<string, Blob> = Object.create(null) as Record<string, Blob>;
  let at = PREFIX + headerLength;
  for (const b of list) {
    if (typeof b?.name !== 'string' || (b.dtype !== 'f32' && b.dtype !== 'i32') || !Number.isSafeInteger(b.length) || b.length < 0 || b.name in blobs) {
      throw new FrameError('frame blob entry is malformed or repeated');
    }
    const size = b.length * 4;
    if (at + size > bytes.length) throw new FrameError(`frame blob ${b.name} runs past the end of the frame`);
    const copy = new ArrayBuffer(size);
    bytes.copy(new Uint8Array(copy), 0, at, at + size);
    blobs[b.name] = b.dtype === 'f32' ? new Float32Array(copy) : new Int32Array(copy);
    at += size;
  }
  if (at !== bytes.length) throw new FrameError(`frame has ${bytes.length - at} trailing bytes after its blobs`);
  return { header, blobs };
}
