import { majorityOf, type PinnedKeyLookup, type QuorumRule } from './steward-approval.js';
import type { Roster } from './roster.js';

/**
 * Who decides by a verified roster, and with which keys (docs/governance.md): its site stewards,
 * each with the steward key the roster pins for its site, and its auditors with theirs. A majority
 * of the stewards decides; where `auditors` is allowed and the roster names any, a majority of the
 * auditors decides too. Rule changes (a new roster) are the stewards' alone.
 */
export interface RosterDecision {
  readonly pinned: PinnedKeyLookup;
  readonly rule: QuorumRule;
}

export function rosterDecision(roster: Roster, options: { readonly auditors: boolean }): RosterDecision {
  const stewards = new Map(roster.sites.map((s) => [s.siteId, s.stewardKeyThumbprint]));
  const auditors = new Map(options.auditors ? (roster.auditors ?? []).map((a) => [a.auditorId, a.keyThumbprint]) : []);
  return {
    pinned: (role, signer) => (role === 'steward' ? stewards.get(signer) : auditors.get(signer)),
    rule: {
      eligible: { steward: [...stewards.keys()], ...(auditors.size > 0 ? { auditor: [...auditors.keys()] } : {}) },
      threshold: { steward: majorityOf(stewards.size), ...(auditors.size > 0 ? { auditor: majorityOf(auditors.size) } : {}) },
    },
  };
}
