import { stat } from 'node:fs/promises';
import { GateError } from '../errors.js';
import type { ArtifactInventory, ArtifactSource, ReadArtifactOptions } from './inventory.js';
import { ociImageIdentity } from './oci-layout.js';
import { readDirectory } from './read-directory.js';
import { readMemoryFiles } from './read-memory-files.js';
import { readTarball } from './read-tarball.js';

/**
 * Reads an artifact once: a directory path, a tarball path (tar or tar+gzip), tarball bytes, or
 * files held in memory (read as a directory). Returns its digest (see docs/gate.md for the exact
 * definition) and every entry in it.
 */
export async function readArtifact(source: ArtifactSource, options: ReadArtifactOptions = {}): Promise<ArtifactInventory> {
  return (await readArtifactWithFileDigests(source, options)).inventory;
}

/** readArtifact plus the SHA-256 (hex) of each regular file by path, for checks bound to one file. */
export async function readArtifactWithFileDigests(
  source: ArtifactSource,
  options: ReadArtifactOptions = {},
): Promise<{ inventory: ArtifactInventory; fileDigests: ReadonlyMap<string, string> }> {
  const memory = isMemoryArtifact(source);
  const kind = memory ? 'directory' : typeof source === 'string' ? await sourceKind(source) : 'tarball';
  const { digest, collector } = memory
    ? await readMemoryFiles(source, options)
    : kind === 'directory' ? await readDirectory(source as string, options) : await readTarball(source as string | Uint8Array, options);
  const image = ociImageIdentity(collector);
  const entries = [...collector.entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { inventory: { kind, digest, entries, image, issues: collector.issues }, fileDigests: collector.fileDigests };
}

function isMemoryArtifact(source: ArtifactSource): source is Extract<ArtifactSource, { files: unknown }> {
  return typeof source === 'object' && !(source instanceof Uint8Array) && Array.isArray((source as { files?: unknown }).files);
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
