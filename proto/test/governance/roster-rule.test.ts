import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  auditPurgeClaims, auditPurgeInputSha256, ed25519Thumbprint, expectedAuditPurge, parseRoster, purgeCutoff, rosterDecision, rosterDigest,
  signStewardApproval, tallyApprovals, type Ed25519PublicJwk, type Roster,
} from '../../src/governance/index.js';

function key() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicJwk = publicKey.export({ format: 'jwk' }) as Ed25519PublicJwk;
  return { privateKey, publicJwk: { kty: 'OKP', crv: 'Ed25519', x: publicJwk.x } as Ed25519PublicJwk };
}

const keys = { 'site-a': key(), 'site-b': key(), 'site-c': key(), aud: key() };
const kex = ed25519Thumbprint(key().publicJwk);

const roster: Roster = {
  consortium: 'rare-net', version: 1,
  sites: (['site-a', 'site-b', 'site-c'] as const).map((id) => ({
    siteId: id, stewardKeyThumbprint: ed25519Thumbprint(keys[id].publicJwk), keyAgreementKeyThumbprint: kex, stewardPublicJwk: keys[id].publicJwk,
  })),
  auditors: [{ auditorId: 'aud', keyThumbprint: ed25519Thumbprint(keys.aud.publicJwk), publicJwk: keys.aud.publicJwk }],
  signatures: [],
};

const codeOf = (p: Promise<unknown>) => p.then(() => 'resolved', (err: { code?: string }) => err.code ?? 'no code');

describe('the roster as the consortium\'s rule', () => {
  it('accepts an optional rules member inside the signed bytes, and refuses rules it does not know or out of range', async () => {
    const ruled = await parseRoster({ ...roster, rules: { auditRetentionDays: 3000 } });
    expect(rosterDigest(ruled)).not.toBe(rosterDigest(roster));
    expect(rosterDigest({ ...roster, signatures: ['a..b'] })).toBe(rosterDigest(roster));
    expect(await codeOf(parseRoster({ ...roster, rules: { auditRetentionDays: 0 } }))).toBe('ROSTER_INVALID');
    expect(await codeOf(parseRoster({ ...roster, rules: { purgeWithoutApproval: true } }))).toBe('ROSTER_INVALID');
  });

  it('lets a majority of the stewards, or of the auditors, decide a purge with the keys the roster pins', () => {
    const before = '2020-01-01T00:00:00.000Z';
    const sign = (role: 'steward' | 'auditor', id: keyof typeof keys) => signStewardApproval(
      auditPurgeClaims({ consortium: 'rare-net', before }, { role, id }, Math.floor(Date.now() / 1000) + 600), keys[id]);
    const { pinned, rule } = rosterDecision(roster, { auditors: true });
    const expected = expectedAuditPurge('rare-net', before);
    expect(rule.threshold).toEqual({ steward: 2, auditor: 1 });
    expect(tallyApprovals([sign('steward', 'site-a')], pinned, expected, rule).reached).toBe(false);
    expect(tallyApprovals([sign('steward', 'site-a'), sign('steward', 'site-b')], pinned, expected, rule).reached).toBe(true);
    expect(tallyApprovals([sign('auditor', 'aud')], pinned, expected, rule).reached).toBe(true);
    // Rule changes are the stewards' alone.
    const stewardsOnly = rosterDecision(roster, { auditors: false });
    expect(stewardsOnly.rule.threshold).toEqual({ steward: 2 });
    expect(tallyApprovals([sign('auditor', 'aud')], stewardsOnly.pinned, expected, stewardsOnly.rule).reached).toBe(false);
  });

  it('names one purge by its cut-off in one spelling, and refuses a cut-off that is no instant', () => {
    expect(purgeCutoff('2019-01-01')).toBe('2019-01-01T00:00:00.000Z');
    expect(auditPurgeInputSha256('rare-net', '2019-01-01T00:00:00Z')).toBe(auditPurgeInputSha256('rare-net', new Date(Date.UTC(2019, 0, 1))));
    expect(auditPurgeInputSha256('rare-net', '2019-01-01')).not.toBe(auditPurgeInputSha256('other-net', '2019-01-01'));
    expect(() => purgeCutoff('yesterday')).toThrow(expect.objectContaining({ code: 'STEWARD_APPROVAL_INVALID' }));
  });
});
