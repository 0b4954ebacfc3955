import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { GateError } from '../errors.js';
import { EntryCollector } from './entry-collector.js';
import type { ReadArtifactOptions } from './inventory.js';
import { MeteredGunzip } from './metered-gunzip.js';
import { isGzipHeader } from './sniff-format.js';
import { TarReader } from './tar-reader.js';

const CHUNK = 1024 * 1024;

/**
 * Reads a tarball artifact (plain or gzip) in one pass. Its digest is SHA-256 of the tarball's
 * bytes exactly as shipped (docs/gate.md says why); the entries are listed and inspected for the
 * content gates. Its own gzip is decompressed under the same expansion limits as anything inside it.
 */
export async function readTarball(source: string | Uint8Array, options: ReadArtifactOptions): Promise<{ digest: string; collector: EntryCollector }> {
  const collector = new EntryCollector(options);
  const whole = createHash('sha256');
  const tar = new TarReader({
    name: (inner) => inner,
    rootfs: false,
    unsafe: (subject, problem) => collector.scope.issues.add({ code: problem.code, path: subject, message: problem.message }),
    nonFile: (path, kind, size) => collector.addNonFile(path, kind, size),
    file: (path) => {
      const { sink, done } = collector.openFile(path);
      return { write: (chunk) => sink.write(chunk), done };
    },
  });
  let gunzip: MeteredGunzip | null | undefined;
  try {
    for await (const chunk of chunksOf(source)) {
      whole.update(chunk);
      gunzip ??= isGzipHeader(chunk) ? new MeteredGunzip(collector.scope.budget.meter(), (plain) => tar.write(plain)) : null;
      if (gunzip) await gunzip.write(chunk);
      else await tar.write(chunk);
    }
    const outcome = gunzip ? await gunzip.end() : { state: 'ok' as const };
    if (outcome.state === 'corrupt') throw new Error(`gzip: ${outcome.reason}`);
    if (outcome.state === 'over-limit') {
      // Digest the rest, but do not end a tar stream that was cut off: it would only fail as truncated.
      collector.scope.issues.add({ code: 'GATE_ARCHIVE_EXPANSION_LIMIT', path: 'artifact', message: `the artifact's own gzip: ${outcome.reason}; decompression stopped and the rest of it was not inspected` });
    } else {
      await tar.end();
    }
  } catch (error) {
    if (error instanceof GateError) throw error;
    const where = typeof source === 'string' ? source : 'the artifact bytes';
    throw new GateError('GATE_ARTIFACT_INVALID', `${where} is not a readable tar or tar+gzip archive: ${(error as Error).message}`, undefined, { cause: error });
  }
  return { digest: `sha256:${whole.digest('hex')}`, collector };
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
