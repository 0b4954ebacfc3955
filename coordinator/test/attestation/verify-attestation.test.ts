import { createHash, createPrivateKey, sign } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  createSoftwareAttester,
  generateAttestationKey,
  type AttestationPrivateJwk,
  type AttestationPublicJwk,
  type AttestationStatement,
} from '@medfed/proto/attestation/index';
import { MemoryNonceStore, verifyAttestation, attestationVerdictDetails, type NonceStore, type VerifyAttestationOptions } from '../../src/attestation/index.js';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const T0 = new Date(Date.UTC(2025, 5, 1, 12));
const APPROVED = sha('trainer build 1.0');

interface World {
  readonly nonces: NonceStore;
  readonly nodeA: AttestationPrivateJwk;
  readonly nodeB: AttestationPrivateJwk;
  readonly nodeKeys: Map<string, AttestationPublicJwk[]>;
  readonly nonce: string;
}

const expected = { site: 'site-a', job: 'job-7', round: 3, updateSha256: sha('ciphertext update'), manifestDigest: sha('manifest jws') };

async function world(): Promise<World> {
  const nonces = new MemoryNonceStore({ ttlMs: 60 * 60 * 1000 });
  const nodeA = generateAttestationKey('site-a-att');
  const nodeB = generateAttestationKey('site-b-att');
  const pub = (k: AttestationPrivateJwk): AttestationPublicJwk => ({ kty: 'OKP', crv: 'Ed25519', x: k.x, kid: k.kid, alg: 'EdDSA', use: 'sig' });
  const nodeKeys = new Map([['site-a', [pub(nodeA)]], ['site-b', [pub(nodeB)]]]);
  const { nonce } = await nonces.issue({ job: 'job-7', round: 3, site: 'site-a' }, T0);
  return { nonces, nodeA, nodeB, nodeKeys, nonce };
}

function statement(w: World, overrides: Partial<AttestationStatement> = {}): AttestationStatement {
  return {
    site: 'site-a', job: 'job-7', round: 3, nonce: w.nonce,
    trainerDigest: APPROVED, sandboxPolicyDigest: sha('policy'), manifestDigest: expected.manifestDigest,
    updateSha256: expected.updateSha256, sandboxed: true, ...overrides,
  };
}

const attest = (key: AttestationPrivateJwk, s: AttestationStatement, at: Date = T0) =>
  createSoftwareAttester(key, { now: () => at.getTime() }).attest(s);

function options(w: World, overrides: Partial<VerifyAttestationOptions> = {}): VerifyAttestationOptions {
  return { nodeKeys: w.nodeKeys, allowlist: [APPROVED], expected, nonces: w.nonces, env: 'production', now: new Date(T0.getTime() + 5000), ...overrides };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe('verifyAttestation', () => {
  it('accepts a sandboxed attestation from the node, on the allowlist, with the fresh nonce', async () => {
    const w = await world();
    const result = await verifyAttestation(await attest(w.nodeA, statement(w)), options(w));
    expect(result.claims.trainerDigest).toBe(APPROVED);
    expect(result.kid).toBe('site-a-att');
    expect(result.warnings).toEqual([]);
    expect(result.assurance).toMatch(/^software attestation: .*not that the host is uncompromised/);
    expect(attestationVerdictDetails(result)).toMatchObject({ verdict: 'pass', measurement: APPROVED, key_id: 'site-a-att' });
  });

  it('refuses a trainer build that is not on the allowlist (ATTESTATION_MEASUREMENT_UNKNOWN)', async () => {
    const w = await world();
    const jws = await attest(w.nodeA, statement(w, { trainerDigest: sha('patched trainer') }));
    const err = await verifyAttestation(jws, options(w)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ATTESTATION_MEASUREMENT_UNKNOWN' });
    expect(attestationVerdictDetails(err)).toEqual({ verdict: 'fail', measurement: sha('patched trainer'), key_id: 'site-a-att', reason: 'ATTESTATION_MEASUREMENT_UNKNOWN' });
  });

  it('refuses a replayed nonce (ATTESTATION_NONCE_REPLAYED)', async () => {
    const w = await world();
    const jws = await attest(w.nodeA, statement(w));
    await verifyAttestation(jws, options(w));
    expect(await codeOf(verifyAttestation(jws, options(w)))).toBe('ATTESTATION_NONCE_REPLAYED');
  });

  it('refuses a superseded or expired nonce (ATTESTATION_NONCE_STALE)', async () => {
    const superseded = await world();
    await superseded.nonces.issue({ job: 'job-7', round: 3, site: 'site-a' }, new Date(T0.getTime() + 1000));
    expect(await codeOf(verifyAttestation(await attest(superseded.nodeA, statement(superseded)), options(superseded)))).toBe('ATTESTATION_NONCE_STALE');

    const expired = await world();
    const late = new Date(T0.getTime() + 60 * 60 * 1000 + 1000); // past the nonce ttl; the attestation itself is fresh
    const jws = await attest(expired.nodeA, statement(expired), late);
    expect(await codeOf(verifyAttestation(jws, options(expired, { now: late })))).toBe('ATTESTATION_NONCE_STALE');
  });

  it('refuses a nonce never issued for this scope (ATTESTATION_NONCE_UNKNOWN)', async () => {
    const w = await world();
    const { nonce: otherRound } = await w.nonces.issue({ job: 'job-7', round: 2, site: 'site-a' }, T0);
    expect(await codeOf(verifyAttestation(await attest(w.nodeA, statement(w, { nonce: otherRound })), options(w)))).toBe('ATTESTATION_NONCE_UNKNOWN');
    expect(await codeOf(verifyAttestation(await attest(w.nodeA, statement(w, { nonce: Buffer.alloc(32, 1).toString('base64url') })), options(w)))).toBe('ATTESTATION_NONCE_UNKNOWN');
  });

  it("refuses a signature by another node, even with the victim's site in the claims (ATTESTATION_SIGNATURE_INVALID)", async () => {
    const w = await world();
    expect(await codeOf(verifyAttestation(await attest(w.nodeB, statement(w)), options(w)))).toBe('ATTESTATION_SIGNATURE_INVALID');
  });

  it('refuses unsandboxed training in production and accepts it with a warning in development', async () => {
    const w = await world();
    const jws = await attest(w.nodeA, statement(w, { sandboxed: false }));
    expect(await codeOf(verifyAttestation(jws, options(w)))).toBe('ATTESTATION_UNSANDBOXED');
    const dev = await verifyAttestation(jws, options(w, { env: 'development' }));
    expect(dev.warnings).toEqual([expect.stringMatching(/^unsandboxed/)]);
  });

  it('refuses an expired attestation, one from the future, and one for other bytes, job, round or manifest', async () => {
    const w = await world();
    const jws = await attest(w.nodeA, statement(w));
    expect(await codeOf(verifyAttestation(jws, options(w, { now: new Date(T0.getTime() + 700_000) })))).toBe('ATTESTATION_EXPIRED');
    expect(await codeOf(verifyAttestation(jws, options(w, { now: new Date(T0.getTime() - 120_000) })))).toBe('ATTESTATION_NOT_YET_VALID');
    const cases: [Partial<typeof expected>, string][] = [
      [{ updateSha256: sha('other ciphertext') }, 'ATTESTATION_UPDATE_MISMATCH'],
      [{ job: 'job-8' }, 'ATTESTATION_JOB_MISMATCH'],
      [{ round: 4 }, 'ATTESTATION_ROUND_MISMATCH'],
      [{ manifestDigest: sha('other manifest') }, 'ATTESTATION_MANIFEST_MISMATCH'],
    ];
    for (const [change, code] of cases) {
      expect(await codeOf(verifyAttestation(jws, options(w, { expected: { ...expected, ...change } })))).toBe(code);
    }
  });

  it('refuses another token type, an unknown node, an unapproved policy and a bad verifier policy', async () => {
    const w = await world();
    const good = await attest(w.nodeA, statement(w));
    const [, p] = good.split('.');
    const h = Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'JWT', kid: 'site-a-att' })).toString('base64url');
    const key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: w.nodeA.x, d: w.nodeA.d }, format: 'jwk' });
    const wrongTyp = `${h}.${p}.${sign(null, Buffer.from(`${h}.${p}`), key).toString('base64url')}`;
    expect(await codeOf(verifyAttestation(wrongTyp, options(w)))).toBe('ATTESTATION_TYP_INVALID');
    expect(await codeOf(verifyAttestation(good, options(w, { expected: { ...expected, site: 'site-c' } })))).toBe('ATTESTATION_KEY_UNKNOWN');
    expect(await codeOf(verifyAttestation(good, options(w, { sandboxPolicies: [sha('other policy')] })))).toBe('ATTESTATION_SANDBOX_POLICY_UNKNOWN');
    expect(await codeOf(verifyAttestation(good, options(w, { env: 'staging' as never })))).toBe('ATTESTATION_POLICY_INVALID');
  });

  it('never burns the nonce on a refused attestation', async () => {
    const w = await world();
    const bad = await attest(w.nodeA, statement(w, { trainerDigest: sha('unknown') }));
    expect(await codeOf(verifyAttestation(bad, options(w)))).toBe('ATTESTATION_MEASUREMENT_UNKNOWN');
    expect(await codeOf(verifyAttestation(await attest(w.nodeB, statement(w)), options(w)))).toBe('ATTESTATION_SIGNATURE_INVALID');
    const good = await verifyAttestation(await attest(w.nodeA, statement(w)), options(w));
    expect(good.claims.nonce).toBe(w.nonce);
  });
});
