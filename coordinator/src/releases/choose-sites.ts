import { createHash } from 'node:crypto';

/**
 * The two sites that decrypt and reproduce a release: distinct key holders, chosen from the release
 * id so that the choice is deterministic (anyone can recompute it) yet spreads the work over sites.
 */
export function chooseSites(releaseId: string, keyHolders: readonly string[]): { decrypting: string; reproducing: string } | null {
  const sites = [...new Set(keyHolders)].sort();
  if (sites.length < 2) return null;
  const start = createHash('sha256').update(releaseId).digest().readUInt32BE(0) % sites.length;
  return { decrypting: sites[start]!, reproducing: sites[(start + 1) % sites.length]! };
}
