import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readPinnedTrust } from '../verification/trust-bundle.js';

/** When nothing names the consortium (a development set-up without roster or trust bundle). */
export const DEFAULT_CONSORTIUM = 'default';

/**
 * The consortium name this site's signed approvals carry and that it expects in others': the
 * configured `consortium`, else the one roster this site imported (`<stateDir>/custody/rosters/`),
 * else the pinned trust bundle's, else `default`. Signer and verifier use this same rule, so a
 * site that belongs to another consortium refuses the approvals (STEWARD_APPROVAL_MISMATCH).
 */
export async function consortiumOf(config: { readonly consortium?: string | undefined; readonly stateDir: string }): Promise<string> {
  if (config.consortium) return config.consortium;
  const rosters = await readdir(join(config.stateDir, 'custody', 'rosters')).catch(() => [] as string[]);
  const names = rosters.filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length)).sort();
  if (names.length === 1) return names[0]!;
  const trust = await readPinnedTrust(config.stateDir).catch(() => null);
  return trust?.manifest.coordinator.consortium ?? DEFAULT_CONSORTIUM;
}
