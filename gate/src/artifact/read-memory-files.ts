import { GateError } from '../errors.js';
import { directoryDigest } from './directory-digest.js';
import { EntryCollector } from './entry-collector.js';
import type { MemoryArtifact, ReadArtifactOptions } from './inventory.js';

/** Same refusals as a directory on disk: no ambiguous line format, no escaping the root. */
const UNSAFE_NAME = /[\n\r\\\uFFFD\0]/;

function checkPath(path: string): void {
  const segments = path.split('/');
  if (path.length === 0 || path.startsWith('/') || UNSAFE_NAME.test(path) || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new GateError('GATE_ARTIFACT_UNSUPPORTED_ENTRY', `in-memory artifact entry ${JSON.stringify(path)}: a path must be relative, '/'-separated, without empty, '.' or '..' segments, newlines or backslashes`);
  }
}

/**
 * An artifact held in memory as a set of files (for example a downloaded model and its manifest):
 * read exactly as if the files were written to a directory, so its digest is the directory digest
 * of docs/gate.md, without touching the disk.
 */
export async function readMemoryFiles(source: MemoryArtifact, options: ReadArtifactOptions): Promise<{ digest: string; collector: EntryCollector }> {
  const collector = new EntryCollector(options);
  const seen = new Set<string>();
  const directories = new Set<string>();
  for (const file of source.files) {
    checkPath(file.path);
    if (seen.has(file.path) || directories.has(file.path)) throw new GateError('GATE_ARTIFACT_UNSUPPORTED_ENTRY', `in-memory artifact entry ${JSON.stringify(file.path)} appears twice`);
    seen.add(file.path);
    const parts = file.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (seen.has(dir)) throw new GateError('GATE_ARTIFACT_UNSUPPORTED_ENTRY', `in-memory artifact entry ${JSON.stringify(dir)} is both a file and a directory`);
      if (!directories.has(dir)) {
        directories.add(dir);
        collector.addNonFile(dir, 'directory', 0);
      }
    }
    const { sink, done } = collector.openFile(file.path);
    await sink.write(Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength));
    await done(file.bytes.byteLength);
  }
  return { digest: directoryDigest(collector.fileDigests), collector };
}
