import { sha256Digest } from './digest-format.js';

/**
 * The digest of a directory artifact: SHA-256 over one line per regular file, in byte order of the
 * UTF-8 relative path: `<sha256 hex of the file>  <path>\n` (the `sha256sum` line format), so it
 * can be recomputed with standard tools (docs/gate.md shows how).
 */
export function directoryDigest(fileDigests: ReadonlyMap<string, string>): string {
  const paths = [...fileDigests.keys()].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
  const lines = paths.map((path) => `${fileDigests.get(path)}  ${path}\n`).join('');
  return sha256Digest(Buffer.from(lines, 'utf8'));
}
