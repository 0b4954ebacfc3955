import { parseDigest } from '../artifact/digest-format.js';

/**
 * The exact bytes a signature covers: the ASCII string `sha256:<hex>` of the artifact digest, with
 * no newline. Never a tag or a name, which can be moved to other content.
 */
export function signingSubject(digest: string): Buffer {
  return Buffer.from(parseDigest(digest, 'artifact digest'), 'ascii');
}
