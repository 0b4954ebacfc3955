import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { generateAttestationKey, publicAttestationJwk } from '@medfed/proto/attestation/index';
import { ed25519Thumbprint, signStewardApproval, type Ed25519PublicJwk, type StewardApprovalClaims } from '@medfed/proto/governance/index';
import { signReleaseStatement, verifyReleaseStatement, type ReleaseStatementClaims } from '@medfed/proto/release/index';
import {
  canTransition, capacityOf, checkSiteApproval, chooseSites, defaultQuorum, ENDED_STATES, isTerminal, nextSite, RELEASE_STATES, tally, type ReleaseState,
} from '../../src/releases/index.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'OK';
  } catch (err) {
    return (err as { code: string }).code;
  }
}

describe('release state machine', () => {
  it('moves only forward: requested -> approved -> decrypted -> released, refused, failed or cancelled from any open state', () => {
    const allowed = RELEASE_STATES.flatMap((from) => RELEASE_STATES.filter((to) => canTransition(from, to)).map((to) => `${from}>${to}`));
    expect(allowed.sort()).toEqual([
      'approved>cancelled', 'approved>decrypted', 'approved>failed', 'approved>refused', 'approved>released',
      'decrypted>cancelled', 'decrypted>failed', 'decrypted>refused', 'decrypted>released',
      'requested>approved', 'requested>cancelled', 'requested>failed', 'requested>refused',
    ].sort());
    expect(RELEASE_STATES.filter(isTerminal)).toEqual(['released', 'refused', 'failed', 'cancelled'] satisfies ReleaseState[]);
    // Every ended state frees the round; released does not (one released model per round).
    expect([...ENDED_STATES].sort()).toEqual(RELEASE_STATES.filter((s) => isTerminal(s) && s !== 'released').sort());
    for (const ended of RELEASE_STATES.filter(isTerminal)) expect(canTransition(ended, 'cancelled')).toBe(false); // nothing ended is cancelled
    expect(canTransition('requested', 'decrypted')).toBe(false); // no decryption before the quorum
    expect(canTransition('requested', 'released')).toBe(false);
  });
});

describe('release quorum', () => {
  it('is a strict majority of the job\'s distinct sites plus one compliance approval', () => {
    expect(defaultQuorum(['c', 'a', 'b'])).toEqual({ sites: ['a', 'b', 'c'], siteApprovals: 2, compliance: 1 });
    expect(defaultQuorum(['a', 'b', 'c', 'd']).siteApprovals).toBe(3);
    expect(defaultQuorum(['a', 'a', 'b']).siteApprovals).toBe(2);
  });

  it('counts each site once, ignores sites outside the job, and needs both parts', () => {
    const q = defaultQuorum(['a', 'b', 'c']);
    expect(tally(q, [{ capacity: 'site:a', approver: 'key:1' }, { capacity: 'site:a', approver: 'key:2' }, { capacity: 'compliance', approver: 'key:9' }]))
      .toEqual({ sitesApproved: ['a'], complianceApprovals: 1, reached: false });
    expect(tally(q, [{ capacity: 'site:a', approver: 'key:1' }, { capacity: 'site:x', approver: 'key:3' }, { capacity: 'compliance', approver: 'key:9' }]).reached).toBe(false);
    expect(tally(q, [{ capacity: 'site:a', approver: 'key:1' }, { capacity: 'site:b', approver: 'key:2' }]).reached).toBe(false);
    expect(tally(q, [{ capacity: 'site:a', approver: 'key:1' }, { capacity: 'site:b', approver: 'key:2' }, { capacity: 'compliance', approver: 'key:9' }]).reached).toBe(true);
  });

  it('lets a steward approve only for its own site of the job, and keeps the requester from approving as compliance outside development', () => {
    const release = { id: 'rel-1', requestedBy: 'key:r', quorum: defaultQuorum(['a', 'b', 'c']) };
    expect(capacityOf({ actor: 'key:s', role: 'site-steward', site: 'b' }, release, false)).toBe('site:b');
    expect(codeOf(() => capacityOf({ actor: 'key:s', role: 'site-steward', site: 'x' }, release, false))).toBe('RELEASE_APPROVER_NOT_IN_JOB');
    expect(codeOf(() => capacityOf({ actor: 'key:s', role: 'site-steward', site: null }, release, false))).toBe('RELEASE_APPROVER_NOT_IN_JOB');
    expect(capacityOf({ actor: 'key:c', role: 'auditor' }, release, false)).toBe('compliance');
    expect(codeOf(() => capacityOf({ actor: 'key:r', role: 'auditor' }, release, false))).toBe('RELEASE_SELF_APPROVAL');
    expect(capacityOf({ actor: 'key:r', role: 'auditor' }, release, true)).toBe('compliance');
    expect(codeOf(() => capacityOf({ actor: 'key:a', role: 'researcher' }, release, true))).toBe('RELEASE_APPROVER_NOT_IN_JOB');
  });
});

describe('release quorum with signed site approvals', () => {
  const q = defaultQuorum(['a', 'b', 'c']);
  const compliance = { capacity: 'compliance', approver: 'key:9' };
  const now = new Date('2030-01-01T00:00:00Z');
  const later = new Date(now.getTime() + 3_600_000);

  it('counts no site approval recorded without a signature', () => {
    expect(tally(q, [{ capacity: 'site:a', approver: 'key:1', approval: null }, { capacity: 'site:b', approver: 'key:2', approval: 'jws' }, compliance]))
      .toEqual({ sitesApproved: ['b'], complianceApprovals: 1, reached: false });
  });

  it('counts a signed approval until it expires, and ignores expiry when no time is given (what approved an ended release)', () => {
    const approvals = [
      { capacity: 'site:a', approver: 'key:1', approval: 'jws-a', approval_expires_at: later },
      { capacity: 'site:b', approver: 'key:2', approval: 'jws-b', approval_expires_at: now },
      compliance,
    ];
    expect(tally(q, approvals, now).sitesApproved).toEqual(['a']);
    expect(tally(q, approvals, now).reached).toBe(false);
    expect(tally(q, approvals).reached).toBe(true);
  });
});

describe("the coordinator's early check of a steward's signed approval", () => {
  const release = { id: 'rel-1', jobId: 'job-1', round: 2, inputSha256: 'ab'.repeat(32) };
  const keyOf = () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    return { privateKey, publicJwk: publicKey.export({ format: 'jwk' }) as Ed25519PublicJwk };
  };
  const steward = keyOf();
  const thumbprint = ed25519Thumbprint(steward.publicJwk);
  const now = new Date();
  const claims = (over: Partial<StewardApprovalClaims> = {}): StewardApprovalClaims => ({
    consortium: 'cardio', job: 'job-1', release: 'rel-1', round: 2, step: 'release', inputSha256: 'ab'.repeat(32),
    expiresAt: Math.floor(now.getTime() / 1000) + 3600, signerRole: 'steward', signer: 'site-a', ...over,
  });
  const check = (jws: unknown, known: string | undefined, site = 'site-a') => codeOf(() => checkSiteApproval(jws, release, site, known, now));

  it('accepts the approval of this release signed as the caller\'s site, and says whether it checked the key', () => {
    const jws = signStewardApproval(claims(), steward);
    expect(checkSiteApproval(jws, release, 'site-a', thumbprint, now)).toMatchObject({ keyThumbprint: thumbprint, keyChecked: true, claims: claims() });
    expect(checkSiteApproval(jws, release, 'site-a', undefined, now)).toMatchObject({ keyThumbprint: thumbprint, keyChecked: false });
  });

  it('refuses another key than the one it knows for the site, and an altered approval even when it knows none', () => {
    expect(check(signStewardApproval(claims(), keyOf()), thumbprint)).toBe('STEWARD_APPROVAL_SIGNATURE_INVALID');
    const [h, , sig] = signStewardApproval(claims(), steward).split('.');
    const altered = `${h}.${Buffer.from(JSON.stringify(Object.fromEntries(Object.entries(claims({ round: 3 })).sort()))).toString('base64url')}.${sig}`;
    expect(check(altered, undefined)).toBe('STEWARD_APPROVAL_SIGNATURE_INVALID');
  });

  it('refuses an approval of another release, round, input or step, one signed as another site, an expired one and one that is no JWS', () => {
    expect(check(signStewardApproval(claims({ release: 'rel-2' }), steward), thumbprint)).toBe('STEWARD_APPROVAL_MISMATCH');
    expect(check(signStewardApproval(claims({ round: 1 }), steward), thumbprint)).toBe('STEWARD_APPROVAL_MISMATCH');
    expect(check(signStewardApproval(claims({ inputSha256: 'cd'.repeat(32) }), steward), thumbprint)).toBe('STEWARD_APPROVAL_MISMATCH');
    expect(check(signStewardApproval(claims({ step: 'audit-purge' }), steward), thumbprint)).toBe('STEWARD_APPROVAL_MISMATCH');
    expect(check(signStewardApproval(claims({ signer: 'site-b' }), steward), thumbprint)).toBe('STEWARD_APPROVAL_MISMATCH');
    expect(check(signStewardApproval(claims({ signerRole: 'auditor' }), steward), thumbprint)).toBe('STEWARD_APPROVAL_MISMATCH');
    expect(check(signStewardApproval(claims({ expiresAt: Math.floor(now.getTime() / 1000) - 1 }), steward), thumbprint)).toBe('STEWARD_APPROVAL_EXPIRED');
    expect(check('not-a-jws', thumbprint)).toBe('STEWARD_APPROVAL_INVALID');
    expect(check(42, undefined)).toBe('STEWARD_APPROVAL_INVALID');
  });
});

describe('release sites', () => {
  it('picks two distinct key holders, deterministically from the release id, and none with fewer than two', () => {
    const holders = ['c', 'a', 'b'];
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const chosen = chooseSites(`rel-${i}`, holders)!;
      expect(chosen.decrypting).not.toBe(chosen.reproducing);
      expect(chooseSites(`rel-${i}`, [...holders].reverse())).toEqual(chosen);
      seen.add(chosen.decrypting);
    }
    expect(seen.size).toBe(3); // the work is spread over the sites
    expect(chooseSites('rel-1', ['a'])).toBeNull();
    expect(chooseSites('rel-1', ['a', 'a'])).toBeNull();
  });
});

describe('release step reassignment', () => {
  it('hands a missed step to the next key holder in sorted order, skipping the other step\'s site and every site that missed it', () => {
    const holders = ['site-d', 'site-a', 'site-c', 'site-b'];
    expect(nextSite('site-b', holders, [])).toBe('site-c');
    expect(nextSite('site-b', holders, ['site-c'])).toBe('site-d');
    expect(nextSite('site-d', holders, ['site-a'])).toBe('site-b'); // wraps around
    expect(nextSite('site-c', holders, ['site-d', 'site-a', 'site-b'])).toBeNull(); // every other holder excluded
    expect(nextSite('site-a', ['site-a', 'site-b'], ['site-b'])).toBeNull(); // two holders: nobody can take over
    expect(nextSite('site-a', ['site-a', 'site-a', 'site-b', 'site-c'], ['site-b'])).toBe('site-c');
    // Never the late site itself, even when it is the only key holder left unexcluded.
    expect(nextSite('site-a', ['site-a', 'site-b'], [])).toBe('site-b');
    expect(nextSite('site-x', ['site-a', 'site-b'], [])).toBe('site-a'); // a late site that no longer holds the key
  });
});

describe('release statements', () => {
  const key = generateAttestationKey();
  const other = generateAttestationKey();
  const claims: ReleaseStatementClaims = {
    release: 'rel-1', site: 'a', job: 'job-1', round: 2, step: 'decrypt', inputSha256: 'ab'.repeat(32), sha256: 'cd'.repeat(32), agrees: true, iat: 1_700_000_000,
  };

  it('verifies with the site\'s registered key and returns the claims', () => {
    expect(verifyReleaseStatement(signReleaseStatement(claims, key), [publicAttestationJwk(key)])).toEqual(claims);
  });

  it('refuses another key, an altered payload, a foreign typ and unknown claims', () => {
    const jws = signReleaseStatement(claims, key);
    expect(codeOf(() => verifyReleaseStatement(jws, [publicAttestationJwk(other)]))).toBe('RELEASE_STATEMENT_SIGNATURE_INVALID');
    const [h, , s] = jws.split('.');
    const altered = `${h}.${Buffer.from(JSON.stringify({ ...claims, sha256: 'ef'.repeat(32) })).toString('base64url')}.${s}`;
    expect(codeOf(() => verifyReleaseStatement(altered, [publicAttestationJwk(key)]))).toBe('RELEASE_STATEMENT_SIGNATURE_INVALID');
    const foreignTyp = `${Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'medfed-attestation+jwt', kid: key.kid })).toString('base64url')}.${jws.split('.')[1]}.${s}`;
    expect(codeOf(() => verifyReleaseStatement(foreignTyp, [publicAttestationJwk(key)]))).toBe('RELEASE_STATEMENT_INVALID');
    expect(codeOf(() => signReleaseStatement({ ...claims, note: 'x' } as ReleaseStatementClaims, key))).toBe('RELEASE_STATEMENT_INVALID');
    expect(codeOf(() => signReleaseStatement({ ...claims, step: 'publish' } as unknown as ReleaseStatementClaims, key))).toBe('RELEASE_STATEMENT_INVALID');
  });
});
