import { readArtifact } from './read-artifact.js';

/**
 * The digest the gate signs and binds reports to: for a directory, SHA-256 over its sorted
 * `sha256sum`-style file list; for a tarball (path or bytes), SHA-256 of the tarball bytes.
 */
export async function artifactDigest(source: string | Uint8Array): Promise<string> {
  return (await readArtifact(source, { scanImageLayers: false })).digest;
}
