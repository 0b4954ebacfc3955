import { createHash, type Hash } from 'node:crypto';
import type { ReadEntry } from 'tar';
import type { ArtifactEntry } from './inventory.js';
import { TarStream, entryKind, normaliseArchivePath } from './tar-stream.js';

const TAR_MAGIC_OFFSET = 257;
const SNIFF_BYTES = 512;

export interface EntrySinkOptions {
  readonly hash: boolean;
  readonly capture: boolean;
  readonly maxContentBytes: number;
  /** Treat the bytes as a possible image layer and list the entries inside it. */
  readonly sniffLayer: boolean;
  readonly wantContent: (path: string) => boolean;
}

export interface EntrySinkResult {
  readonly sha256: string | null;
  readonly content: Buffer | undefined;
  readonly contentSkipped: boolean;
  readonly layerEntries: readonly ArtifactEntry[];
}

/**
 * Consumes the bytes of one artifact entry exactly once: hashes them, keeps them when wanted and
 * small, and, for OCI blobs, lists the files of the image layer they may hold.
 */
export class EntrySink {
  private readonly hash: Hash | null;
  private chunks: Buffer[] | null;
  private captured = 0;
  private contentSkipped = false;
  private sniffed: Buffer[] | null;
  private sniffedBytes = 0;
  private layer: TarStream | null = null;
  private readonly layerEntries: ArtifactEntry[] = [];
  private readonly pendingLayerEntries: Promise<void>[] = [];

  private readonly layerDigestHint: string;
  private readonly options: EntrySinkOptions;

  constructor(layerDigestHint: string, options: EntrySinkOptions) {
    this.layerDigestHint = layerDigestHint;
    this.options = options;
    this.hash = options.hash ? createHash('sha256') : null;
    this.chunks = options.capture ? [] : null;
    this.sniffed = options.sniffLayer ? [] : null;
  }

  write(chunk: Buffer): void {
    this.hash?.update(chunk);
    if (this.chunks) {
      this.captured += chunk.length;
      if (this.captured > this.options.maxContentBytes) {
        this.chunks = null;
        this.contentSkipped = true;
      } else {
        this.chunks.push(chunk);
      }
    }
    if (this.sniffed) {
      this.sniffed.push(chunk);
      this.sniffedBytes += chunk.length;
      if (this.sniffedBytes >= SNIFF_BYTES) this.decideLayer();
    } else {
      this.layer?.writeNow(chunk);
    }
  }

  async finish(): Promise<EntrySinkResult> {
    if (this.sniffed) this.decideLayer();
    if (this.layer) {
      try {
        await this.layer.end();
        await Promise.all(this.pendingLayerEntries);
      } catch {
        // Not a readable layer after all (a config or manifest blob that happened to sniff as one).
      }
    }
    return {
      sha256: this.hash ? this.hash.digest('hex') : null,
      content: this.chunks ? Buffer.concat(this.chunks) : undefined,
      contentSkipped: this.contentSkipped,
      layerEntries: this.layerEntries,
    };
  }

  private decideLayer(): void {
    const head = Buffer.concat(this.sniffed ?? []);
    this.sniffed = null;
    const gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
    const ustar = head.length >= TAR_MAGIC_OFFSET + 5 && head.toString('latin1', TAR_MAGIC_OFFSET, TAR_MAGIC_OFFSET + 5) === 'ustar';
    if (!gzip && !ustar) return;
    this.layer = new TarStream((entry) => this.onLayerEntry(entry), { strict: false });
    this.layer.writeNow(head);
  }

  private onLayerEntry(entry: ReadEntry): void {
    const path = `/${normaliseArchivePath(entry.path)}`;
    const kind = entryKind(entry.type);
    const want = kind === 'file' && this.options.wantContent(path);
    const chunks: Buffer[] = [];
    let size = 0;
    entry.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (want && size <= this.options.maxContentBytes) chunks.push(chunk);
    });
    this.pendingLayerEntries.push(
      new Promise<void>((resolve) => {
        entry.on('end', () => {
          const tooLarge = want && size > this.options.maxContentBytes;
          this.layerEntries.push({
            path,
            kind,
            size: entry.size,
            layer: this.layerDigestHint,
            ...(want && !tooLarge ? { content: Buffer.concat(chunks) } : {}),
            ...(tooLarge ? { contentSkipped: true } : {}),
          });
          resolve();
        });
      }),
    );
  }
}
