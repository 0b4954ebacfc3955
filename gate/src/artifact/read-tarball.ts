import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { ReadEntry } from 'tar';
import { GateError } from '../errors.js';
import { EntryCollector } from './entry-collector.js';
import type { ReadArtifactOptions } from './inventory.js';
import { TarStream, entryKind, normaliseArchivePath } from './tar-stream.js';

const CHUNK = 1024 * 1024;

/**
 * Reads a tarball artifact (plain or gzip) in one pass. Its digest is SHA-256 of the tarball's
 * bytes exactly as shipped (docs/gate.md says why); the entries are listed for the content gates.
 */
export async function readTarball(source: string | Uint8Array, options: ReadArtifactOptions): Promise<{ digest: string; collector: EntryCollector }> {
  const collector = new EntryCollector(options);
  const whole = createHash('sha256');
  const pending: Promise<void>[] = [];
  const stream = new TarStream((entry) => pending.push(onEntry(entry, collector)), { strict: true });
  try {
    for await (const chunk of chunksOf(source)) {
      whole.update(chunk);
      await stream.write(chunk);
    }
    await stream.end();
    await Promise.all(pending);
  } catch (error) {
    if (error instanceof GateError) throw error;
    const where = typeof source === 'string' ? source : 'the artifact bytes';
    throw new GateError('GATE_ARTIFACT_INVALID', `${where} is not a readable tar or tar+gzip archive: ${(error as Error).message}`, undefined, { cause: error });
  }
  return { digest: `sha256:${whole.digest('hex')}`, collector };
}

function onEntry(entry: ReadEntry, collector: EntryCollector): Promise<void> {
  const path = normaliseArchivePath(entry.path);
  const kind = entryKind(entry.type);
  if (kind !== 'file') {
    collector.addNonFile(path, kind, entry.size);
    entry.resume();
    return Promise.resolve();
  }
  const { sink, done } = collector.openFile(path);
  entry.on('data', (chunk: Buffer) => sink.write(chunk));
  return new Promise<void>((resolve, reject) => {
    entry.on('end', () => {
      done(entry.size).then(resolve, reject);
    });
  });
}

async function* chunksOf(source: string | Uint8Array): AsyncGenerator<Buffer> {
  if (typeof source === 'string') {
    for await (const chunk of createReadStream(source, { highWaterMark: CHUNK })) yield chunk as Buffer;
    return;
  }
  for (let offset = 0; offset < source.length; offset += CHUNK) {
    yield Buffer.from(source.buffer, source.byteOffset + offset, Math.min(CHUNK, source.length - offset));
  }
}
