import { stat } from 'node:fs/promises';
import { GateError } from '../errors.js';
import type { ArtifactInventory, ReadArtifactOptions } from './inventory.js';
import { ociImageIdentity } from './oci-layout.js';
import { readDirectory } from './read-directory.js';
import { readTarball } from './read-tarball.js';

/**
 * Reads an artifact once: a directory path, a tarball path (tar or tar+gzip), or tarball bytes.
 * Returns its digest (see docs/gate.md for the exact definition) and every entry in it.
 */
export async function readArtifact(source: string | Uint8Array, options: ReadArtifactOptions = {}): Promise<ArtifactInventory> {
  const kind = typeof source === 'string' ? await sourceKind(source) : 'tarball';
  const { digest, collector } = kind === 'directory' ? await readDirectory(source as string, options) : await readTarball(source, options);
  const image = ociImageIdentity(collector);
  const entries = [...collector.entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { kind, digest, entries, image };
}

async function sourceKind(path: string): Promise<'directory' | 'tarball'> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) return 'directory';
    if (info.isFile()) return 'tarball';
  } catch (error) {
    throw new GateError('GATE_INPUT_UNREADABLE', `artifact ${path}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}; give an existing directory or tarball`, undefined, { cause: error });
  }
  throw new GateError('GATE_ARTIFACT_INVALID', `artifact ${path} is neither a directory nor a regular file`);
}
