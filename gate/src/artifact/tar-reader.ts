import type { ReadEntry } from 'tar';
import { checkArchiveEntry, type UnsafeEntry } from './archive-entry-safety.js';
import type { EntryKind } from './inventory.js';
import { TarStream, entryKind, normaliseArchivePath } from './tar-stream.js';

/** Where the entries of one tar archive go. */
export interface TarEntryConsumer {
  /** Names an entry from its path inside the archive. */
  readonly name: (inner: string) => string;
  /** Unpacked into an image's root by a container runtime, where absolute link targets stay inside. */
  readonly rootfs: boolean;
  unsafe(subject: string, problem: UnsafeEntry): void;
  nonFile(path: string, kind: Exclude<EntryKind, 'file'>, size: number): void;
  /** A regular file: a sink for its bytes, then `done` with its size. */
  file(path: string): { write: (chunk: Buffer) => Promise<void>; done: (size: number) => Promise<void> };
}

/**
 * Reads one tar archive strictly (a corrupt or truncated archive is an error), checking every
 * entry's name, type and link target before its bytes are consumed, one entry at a time.
 */
export class TarReader {
  private readonly stream: TarStream;
  private readonly consumer: TarEntryConsumer;
  private readonly pending: Promise<void>[] = [];

  constructor(consumer: TarEntryConsumer) {
    this.consumer = consumer;
    this.stream = new TarStream((entry) => this.onEntry(entry), { strict: true });
  }

  write(chunk: Buffer): Promise<void> {
    return this.stream.write(chunk);
  }

  /** Ends the archive; rejects when it was not readable tar. */
  async end(): Promise<void> {
    await this.stream.end();
    await Promise.all(this.pending);
  }

  private onEntry(entry: ReadEntry): void {
    const { consumer } = this;
    const problem = checkArchiveEntry(entry, consumer.rootfs);
    if (problem) consumer.unsafe(consumer.name(entry.path), problem);
    const path = consumer.name(normaliseArchivePath(entry.path));
    const kind = entryKind(entry.type);
    if (kind !== 'file') {
      consumer.nonFile(path, kind, entry.size);
      entry.resume();
      return;
    }
    const consumed = consume(entry, consumer.file(path));
    // Awaited by end(); when the archive breaks off mid-entry, end() rejects first and this is dropped.
    consumed.catch(() => {});
    this.pending.push(consumed);
  }
}

async function consume(entry: ReadEntry, sink: ReturnType<TarEntryConsumer['file']>): Promise<void> {
  for await (const chunk of entry) await sink.write(chunk);
  await sink.done(entry.size);
}
