import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  auditPurgeClaims, rosterDigest, signStewardApproval, type Ed25519PublicJwk, type Roster, type StewardApprovalClaims,
} from '@medfed/proto/governance/index';
import { addRosterSite, newRoster, rosterSiteFromIdentity, signRoster } from '@medfed/node-agent/custody/roster';
import { loadSiteIdentity, type SiteIdentity } from '@medfed/node-agent/custody/site-identity';
import type { SiteKeys } from '@medfed/node-agent/custody/site-keys';

/** One hospital of a test consortium: its agent's state dir and configuration, and its custody keys. */
export interface ConsortiumSite {
  readonly id: string;
  readonly stateDir: string;
  /** An agent configuration naming the site, its state dir and the consortium (for `medfed agent sign-purge -c`). */
  readonly config: string;
  readonly identity: SiteIdentity;
  readonly keys: SiteKeys;
}

/** Sites with real Ed25519 steward keys in their own state dirs, as `medfed agent identity` makes them. */
export async function consortiumSites(root: string, consortium: string, ids: readonly string[]): Promise<Record<string, ConsortiumSite>> {
  const sites: Record<string, ConsortiumSite> = {};
  for (const id of ids) {
    const stateDir = join(root, id, 'state');
    const { identity, keys } = await loadSiteIdentity(stateDir, id);
    const config = join(root, `${id}.yaml`);
    await writeFile(config, [
      `siteId: ${id}`, `consortium: ${consortium}`, 'coordinator:', '  grpc: localhost:50051', 'data:', `  csv: ${join(root, 'data.csv')}`, '  label: y',
      `stateDir: ${stateDir}`, '',
    ].join('\n'));
    sites[id] = { id, stateDir, config, identity, keys };
  }
  return sites;
}

/** A roster of `sites`, signed by every one of their stewards (as `medfed agent roster add|sign` make it). */
export async function signedRoster(consortium: string, sites: readonly ConsortiumSite[], options: { version?: number; rules?: Roster['rules'] } = {}): Promise<Roster> {
  let roster = newRoster(consortium, options.version ?? 1);
  for (const site of sites) roster = (await addRosterSite(roster, await rosterSiteFromIdentity(site.identity))).roster;
  if (options.rules) roster = { ...roster, rules: options.rules };
  for (const site of sites) roster = await signRoster(roster, { self: site.identity, privateKey: site.keys.steward.privateKey });
  return roster;
}

function stewardKey(site: ConsortiumSite): { privateKey: never; publicJwk: Ed25519PublicJwk } {
  return { privateKey: site.keys.steward.privateKey as never, publicJwk: site.keys.steward.publicJwk as Ed25519PublicJwk };
}

const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

/** A steward's approval of purging the entries before `before`, valid for an hour. */
export function purgeApproval(site: ConsortiumSite, consortium: string, before: string): string {
  return signStewardApproval(auditPurgeClaims({ consortium, before }, { role: 'steward', id: site.id }, inAnHour()), stewardKey(site));
}

/** A roster auditor's approval of the same purge, signed with `key` (an Ed25519 private key and its public JWK), valid for an hour. */
export function auditorPurgeApproval(auditorId: string, key: { readonly privateKey: unknown; readonly publicJwk: Ed25519PublicJwk }, consortium: string, before: string): string {
  return signStewardApproval(auditPurgeClaims({ consortium, before }, { role: 'auditor', id: auditorId }, inAnHour()), key as never);
}

/** A steward's approval of replacing the installed roster by `roster`, valid for an hour. */
export function ruleApproval(site: ConsortiumSite, roster: Roster): string {
  const claims: StewardApprovalClaims = {
    consortium: roster.consortium, job: null, release: null, round: null, step: 'governance-rule', inputSha256: rosterDigest(roster),
    expiresAt: inAnHour(), signerRole: 'steward', signer: site.id,
  };
  return signStewardApproval(claims, stewardKey(site));
}
