import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

/**
 * The `tar` package (v6) ships no type declarations; this is the small, typed slice of it the audit
 * bundle uses, loaded through createRequire so no ambient module declaration leaks into the build.
 */
interface TarReadEntry {
  readonly path: string;
  readonly type: string;
  readonly size: number;
  on(event: 'data', fn: (chunk: Buffer) => void): this;
  on(event: 'end', fn: () => void): this;
  resume(): this;
}

interface TarApi {
  c(options: Record<string, unknown>, files: string[]): Promise<void> & Readable;
  Parse: new (options: Record<string, unknown>) => Writable & {
    on(event: 'entry', fn: (entry: TarReadEntry) => void): unknown;
    on(event: 'warn' | 'error', fn: (code: string | Error, message?: string) => void): unknown;
  };
}

const tar = createRequire(import.meta.url)('tar') as TarApi;

/**
 * Reproducible entries: fixed mtime, no owner names, regular file modes. gzip level 1: a million
 * events compress about as well at level 6 but take several times longer.
 */
const PACK_OPTIONS = { gzip: { level: 1 }, portable: true, noDirRecurse: true, mtime: new Date(0), maxReadSize: 1024 * 1024, jobs: 1 };

/** Packs `files` (names inside `dir`, in this order) into a .tar.gz written to a path or a stream. */
export async function packTarGz(dir: string, files: readonly string[], out: string | Writable): Promise<void> {
  if (typeof out === 'string') {
    await tar.c({ ...PACK_OPTIONS, cwd: dir, file: out }, [...files]);
    return;
  }
  await pipeline(tar.c({ ...PACK_OPTIONS, cwd: dir }, [...files]), out);
}

export interface TarEntryHandler {
  /** Called per entry in archive order; `onData`/`onEnd` receive its content. */
  (entry: { readonly name: string; readonly type: string; readonly size: number }): {
    readonly onData: (chunk: Buffer) => void;
    readonly onEnd: () => void;
  };
}

/** Streams a .tar.gz entry by entry; rejects on corrupt gzip or tar data. */
export async function readTarGz(source: string | Readable, handler: TarEntryHandler): Promise<void> {
  const parser = new tar.Parse({ strict: true });
  parser.on('entry', (entry) => {
    const sink = handler({ name: entry.path, type: entry.type, size: entry.size });
    entry.on('data', sink.onData);
    entry.on('end', sink.onEnd);
  });
  const input = typeof source === 'string' ? createReadStream(source) : source;
  await pipeline(input, createGunzip(), parser);
}
