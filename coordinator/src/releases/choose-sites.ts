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

/**
 * The site that takes over a missed step: the next key holder after `current` in the same sorted
 * order, skipping `excluded` (the site of the other step, and every site that already missed this
 * step). Null when no key holder is left.
 */
export function nextSite(current: string, keyHolders: readonly string[], excluded: readonly string[]): string | null {
  const sites = [...new Set(keyHolders)].sort();
  const skip = new Set([current, ...excluded]);
  const at = sites.findIndex((s) => s > current);
  const order = at < 0 ? sites : [...sites.slice(at), ...sites.slice(0, at)];
  return order.find((s) => !skip.has(s)) ?? null;
}
