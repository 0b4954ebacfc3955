import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { toAuditEvent } from '../../src/audit/index.js';
import {
  auditPurgeClaims, ed25519Thumbprint, rosterDigest, signStewardApproval, verifyGovernedEvents, type Ed25519PublicJwk, type Roster,
} from '../../src/governance/index.js';

function key() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicJwk = publicKey.export({ format: 'jwk' }) as Ed25519PublicJwk;
  return { privateKey, publicJwk: { kty: 'OKP', crv: 'Ed25519', x: publicJwk.x } as Ed25519PublicJwk };
}

type Keys = Record<'site-a' | 'site-b' | 'site-c', ReturnType<typeof key>>;
const SITES = ['site-a', 'site-b', 'site-c'] as const;
const kex = ed25519Thumbprint(key().publicJwk);

/** A roster of these steward keys (the verifier checks signatures before; this check needs none). */
function rosterOf(keys: Keys, version = 1): Roster {
  return {
    consortium: 'rare-net', version,
    sites: SITES.map((id) => ({ siteId: id, stewardKeyThumbprint: ed25519Thumbprint(keys[id].publicJwk), keyAgreementKeyThumbprint: kex, stewardPublicJwk: keys[id].publicJwk })),
    signatures: [],
  };
}

const real: Keys = { 'site-a': key(), 'site-b': key(), 'site-c': key() };
const own: Keys = { 'site-a': key(), 'site-b': key(), 'site-c': key() };
const pinned = rosterOf(real);
const attackers = rosterOf(own);

const TIME = '2025-06-01T12:00:00.000Z';
const BEFORE = '2025-05-01T00:00:00.000Z';
const expiresAt = Date.parse(TIME) / 1000 + 3600;
const approve = (keys: Keys, id: (typeof SITES)[number], before = BEFORE) =>
  signStewardApproval(auditPurgeClaims({ consortium: 'rare-net', before }, { role: 'steward', id }, expiresAt), keys[id]);

function purgeEvent(seq: number, details: Record<string, unknown>) {
  return {
    v: 1, seq, time: TIME, actor: 'user:admin', role: 'admin', site: null, action: 'audit.purge', resource: 'audit', outcome: 'success',
    request_id: null, rule: 'rbac:admin/audit.purge', details: { through_seq: seq - 1, count: seq - 1, before: BEFORE, ...details },
    prev_hash: '0'.repeat(64), hash: '1'.repeat(64),
  };
}
const forced = (roster: Roster, approvals: string[]) => ({
  reason: 'RETENTION_OVERRIDE', consortium: 'rare-net', version: roster.version, sha256: rosterDigest(roster), signers: [], approvals,
});
function rosterEvent(seq: number, action: string, roster: Roster, outcome = 'success') {
  return {
    v: 1, seq, time: TIME, actor: 'user:admin', role: 'admin', site: null, action, resource: 'governance', outcome, request_id: null,
    rule: 'rbac:admin/governance', details: { consortium: roster.consortium, version: roster.version, sha256: rosterDigest(roster) },
  };
}
const refusal = (f: () => unknown) => {
  try {
    f();
    return 'accepted';
  } catch (err) {
    return `${(err as { code?: string }).code}: ${(err as Error).message}`;
  }
};

describe('purges inside retention checked against the roster the verifier pinned', () => {
  it('accepts a purge approved by a majority of the pinned roster\'s stewards and names who approved it', () => {
    const report = verifyGovernedEvents([
      rosterEvent(3, 'governance.roster.install', pinned),
      purgeEvent(9, forced(pinned, [approve(real, 'site-a'), approve(real, 'site-c')])),
      { seq: 10, prev_hash: '1'.repeat(64), hash: '2'.repeat(64) },
    ], [pinned]);
    expect(report).toEqual({
      purges: [{ seq: 9, time: TIME, before: BEFORE, consortium: 'rare-net', version: 1, digest: rosterDigest(pinned), approvedBy: ['steward:site-a', 'steward:site-c'] }],
      rosterChanges: [{ seq: 3, action: 'governance.roster.install', version: 1, digest: rosterDigest(pinned) }],
      hashOnly: 1,
    });
  });

  it('refuses a purge whose approvals were signed by other keys under the stewards\' names, naming the seq and digest', () => {
    // The event names the pinned roster's digest, but its approvals are the operator's keys.
    const message = refusal(() => verifyGovernedEvents([purgeEvent(9, forced(pinned, SITES.map((id) => approve(own, id))))], [pinned]));
    expect(message).toMatch(/^AUDIT_PURGE_NOT_APPROVED: the purge inside retention at seq 9 /);
    expect(message).toContain(`names roster digest ${rosterDigest(pinned)}`);
    expect(message).toContain('stewards: 0 of 2 needed');
    expect(message).toContain('steward site-a (STEWARD_APPROVAL_SIGNATURE_INVALID)');
  });

  it('refuses a purge with too few approvals, or approvals of another cut-off, or none at all', () => {
    expect(refusal(() => verifyGovernedEvents([purgeEvent(9, forced(pinned, [approve(real, 'site-a')]))], [pinned])))
      .toMatch(/^AUDIT_PURGE_NOT_APPROVED: .*stewards: 1 of 2 needed/);
    expect(refusal(() => verifyGovernedEvents([purgeEvent(9, forced(pinned, [approve(real, 'site-a'), approve(real, 'site-b', '2025-05-02T00:00:00.000Z')]))], [pinned])))
      .toContain('steward site-b (STEWARD_APPROVAL_MISMATCH)');
    const { approvals: _none, ...withoutApprovals } = forced(pinned, []);
    expect(refusal(() => verifyGovernedEvents([purgeEvent(9, withoutApprovals)], [pinned]))).toMatch(/^AUDIT_PURGE_NOT_APPROVED: .*carries no signed approvals/);
  });

  it('refuses approvals that had expired when the purge ran', () => {
    const stale = (id: (typeof SITES)[number]) => signStewardApproval(
      auditPurgeClaims({ consortium: 'rare-net', before: BEFORE }, { role: 'steward', id }, Date.parse(TIME) / 1000 - 1), real[id]);
    expect(refusal(() => verifyGovernedEvents([purgeEvent(9, forced(pinned, [stale('site-a'), stale('site-b')]))], [pinned])))
      .toContain('(STEWARD_APPROVAL_EXPIRED)');
  });

  it('refuses a purge that names another roster\'s digest, though that roster\'s own keys approved it', () => {
    const message = refusal(() => verifyGovernedEvents([purgeEvent(9, forced(attackers, SITES.map((id) => approve(own, id))))], [pinned]));
    expect(message).toMatch(/^AUDIT_PURGE_NOT_APPROVED: the purge inside retention at seq 9 /);
    expect(message).toContain(`names roster digest ${rosterDigest(attackers)}`);
    expect(message).toContain(`not the digest of a roster pinned here (pinned: rare-net v1 (${rosterDigest(pinned)}))`);
    // Pinned as well, the same events pass: the check is the pin, nothing else.
    expect(verifyGovernedEvents([purgeEvent(9, forced(attackers, SITES.map((id) => approve(own, id))))], [pinned, attackers]).purges).toHaveLength(1);
  });

  it('refuses a roster install or replacement of a digest not pinned, and says a rule change means pinning the new roster', () => {
    const install = refusal(() => verifyGovernedEvents([rosterEvent(4, 'governance.roster.install', attackers)], [pinned]));
    expect(install).toMatch(new RegExp(`^GOVERNANCE_ROSTER_UNPINNED: governance.roster.install at seq 4 put roster rare-net v1 \\(digest ${rosterDigest(attackers)}\\)`));
    expect(install).toContain('a legitimate rule change means pinning the new roster too');
    const v2 = rosterOf(real, 2);
    expect(refusal(() => verifyGovernedEvents([rosterEvent(5, 'governance.roster.replace', v2)], [pinned]))).toMatch(/^GOVERNANCE_ROSTER_UNPINNED: governance.roster.replace at seq 5 /);
    expect(verifyGovernedEvents([rosterEvent(5, 'governance.roster.replace', v2)], [pinned, v2]).rosterChanges).toHaveLength(1);
    // A refused install changed nothing: not a reason to fail.
    expect(verifyGovernedEvents([rosterEvent(4, 'governance.roster.install', attackers, 'denied')], [pinned]).rosterChanges).toEqual([]);
  });

  it('ignores purges outside retention and refused purges, whatever they carry', () => {
    const report = verifyGovernedEvents([
      purgeEvent(9, {}),
      { ...purgeEvent(10, forced(attackers, [])), outcome: 'denied' },
    ], [pinned]);
    expect(report).toEqual({ purges: [], rosterChanges: [], hashOnly: 0 });
  });
});

describe('the approvals detail of audit.purge', () => {
  const input = (approvals: unknown) => ({
    actor: 'user:admin', role: 'admin', action: 'audit.purge', resource: 'audit', outcome: 'success' as const, rule: 'r', details: { approvals },
  });
  it('takes signed steward approvals and refuses anything else in it: free text, a JWS of other claims, more than 64', () => {
    const jws = approve(real, 'site-a');
    expect(toAuditEvent(input([jws]) as never, 1).details).toEqual({ approvals: [jws] });
    const codeOf = (approvals: unknown) => { try { toAuditEvent(input(approvals) as never, 1); return 'accepted'; } catch (err) { return (err as { code?: string }).code; } };
    expect(codeOf(['Jane Doe, born 1970-01-01'])).toBe('AUDIT_DETAIL_INVALID');
    const [h, , s] = jws.split('.');
    expect(codeOf([`${h}.${Buffer.from(JSON.stringify({ note: 'patient 123' })).toString('base64url')}.${s}`])).toBe('AUDIT_DETAIL_INVALID');
    expect(codeOf(Array.from({ length: 65 }, () => jws))).toBe('AUDIT_DETAIL_INVALID');
    expect(codeOf(jws)).toBe('AUDIT_DETAIL_INVALID');
  });
});
