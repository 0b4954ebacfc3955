import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GovernanceError } from '@medfed/proto/governance/index';
import { pinRoster, type PinOutcome } from './pinned-sites.js';
import { parseRoster, readRoster, requireSelf, verifyRoster, writeRoster, type Roster, type RosterSite } from './roster.js';

/** Where an imported roster is kept: `<stateDir>/custody/rosters/<consortium>.json`. */
export function importedRosterPath(stateDir: string, consortium: string): string {
  return join(stateDir, 'custody', 'rosters', `${consortium}.json`);
}

async function importedVersion(path: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return undefined;
    throw err;
  }
  return (await parseRoster(JSON.parse(text))).version;
}

export interface RosterImport {
  readonly roster: Roster;
  readonly pins: readonly PinOutcome[];
}

/**
 * `medfed agent roster import`: the roster must list this site with its own keys and carry a valid
 * signature by every listed site's steward (this site's included); then every listed site is
 * pinned, and the roster is kept in the state dir. An older version of a consortium's roster than
 * the one imported already is refused.
 */
export async function importRoster(file: string, site: { stateDir: string; pinnedSitesPath: string; self: RosterSite }): Promise<RosterImport> {
  const roster = await readRoster(file);
  requireSelf(roster, site.self);
  await verifyRoster(roster);
  const kept = importedRosterPath(site.stateDir, roster.consortium);
  const previous = await importedVersion(kept);
  if (previous !== undefined && previous > roster.version) {
    throw new GovernanceError('ROSTER_OUTDATED', `this site imported version ${previous} of the ${roster.consortium} roster; version ${roster.version} is older`);
  }
  const pins = await pinRoster(site.pinnedSitesPath, { consortium: roster.consortium, version: roster.version, sites: roster.sites }, { self: site.self });
  await mkdir(join(kept, '..'), { recursive: true, mode: 0o700 });
  await writeRoster(kept, roster, 0o600);
  return { roster, pins };
}
