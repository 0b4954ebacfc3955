import { once } from 'node:events';
import tar, { type ReadEntry } from 'tar';

/**
 * A push interface over tar's streaming parser, with backpressure: a write waits until the entry
 * being read has taken its bytes. It is fed plain tar; gzip is undone before it (MeteredGunzip), so
 * that decompression is metered.
 */
export class TarStream {
  private readonly parser: InstanceType<typeof tar.Parse>;
  private readonly finished: Promise<void>;
  private failure: Error | null = null;

  constructor(onEntry: (entry: ReadEntry) => void, options: { strict: boolean }) {
    this.parser = new tar.Parse({ strict: options.strict, onentry: onEntry, onwarn: () => {} });
    this.finished = new Promise<void>((resolve, reject) => {
      this.parser.on('end', () => resolve());
      this.parser.on('error', (error: Error) => {
        this.failure = error;
        reject(error);
      });
    });
    // Observed through end() or write(); never left as an unhandled rejection.
    this.finished.catch(() => {});
  }

  /** Writes a chunk, waiting for the parser to drain when it asks for it. */
  async write(chunk: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.parser.write(chunk)) {
      await Promise.race([once(this.parser, 'drain'), this.finished]);
    }
  }

  async end(): Promise<void> {
    if (!this.failure) this.parser.end();
    await this.finished;
  }
}

/** Normalises an archive path: `/`-separated, without a leading `./` or `/`, without a trailing `/`. */
export function normaliseArchivePath(path: string): string {
  return path.replace(/\\/g, '/').replace(/^(\.\/)+/, '').replace(/^\/+/, '').replace(/\/+$/, '');
}

const KIND_BY_TAR_TYPE: Readonly<Record<string, 'file' | 'directory' | 'symlink'>> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'directory',
  SymbolicLink: 'symlink',
  Link: 'symlink',
};

export function entryKind(tarType: string): 'file' | 'directory' | 'symlink' | 'other' {
  return KIND_BY_TAR_TYPE[tarType] ?? 'other';
}
