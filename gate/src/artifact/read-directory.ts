import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { GateError } from '../errors.js';
import { directoryDigest } from './directory-digest.js';
import { EntryCollector } from './entry-collector.js';
import type { ReadArtifactOptions } from './inventory.js';

/** Names that would make the digest's line format ambiguous, or that were not valid UTF-8 on disk. */
const UNSAFE_NAME = /[\n\r\\\uFFFD]/;

/**
 * Walks a directory artifact. Only regular files and directories have a defined digest: a symbolic
 * link, socket, FIFO or device refuses the artifact instead of being followed or skipped.
 */
export async function readDirectory(root: string, options: ReadArtifactOptions): Promise<{ digest: string; collector: EntryCollector }> {
  const collector = new EntryCollector(options);
  try {
    await walk(root, '', collector);
  } catch (error) {
    if (error instanceof GateError) throw error;
    const { code, path } = error as NodeJS.ErrnoException;
    throw new GateError('GATE_INPUT_UNREADABLE', `artifact ${root}: ${code ?? 'read error'} at ${path ?? 'an entry'}; every file must be readable by the gate`, undefined, { cause: error });
  }
  return { digest: directoryDigest(collector.fileDigests), collector };
}

async function walk(root: string, relative: string, collector: EntryCollector): Promise<void> {
  const dirents = await readdir(join(root, relative), { withFileTypes: true });
  for (const dirent of dirents) {
    const path = relative === '' ? dirent.name : `${relative}/${dirent.name}`;
    if (UNSAFE_NAME.test(dirent.name)) {
      throw new GateError('GATE_ARTIFACT_UNSUPPORTED_ENTRY', `artifact entry ${JSON.stringify(path)}: its name holds a newline, backslash or non-UTF-8 byte; rename it`);
    }
    if (dirent.isDirectory()) {
      collector.addNonFile(path, 'directory', 0);
      await walk(root, path, collector);
    } else if (dirent.isFile()) {
      await readFile(join(root, path), path, collector);
    } else {
      const what = dirent.isSymbolicLink() ? 'a symbolic link' : 'not a regular file or directory';
      throw new GateError(
        'GATE_ARTIFACT_UNSUPPORTED_ENTRY',
        `artifact entry ${JSON.stringify(path)} is ${what}; a directory artifact may hold only regular files and directories (replace it, or ship the artifact as a tarball)`,
      );
    }
  }
}

async function readFile(absolute: string, path: string, collector: EntryCollector): Promise<void> {
  let size = 0;
  const { sink, done } = collector.openFile(path);
  for await (const chunk of createReadStream(absolute)) {
    size += (chunk as Buffer).length;
    await sink.write(chunk as Buffer);
  }
  await done(size);
}
