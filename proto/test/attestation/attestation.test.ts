import { chmod, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  ATTESTATION_TYP,
  createSoftwareAttester,
  generateAttestationKey,
  loadOrCreateAttestationKey,
  publicAttestationJwk,
  sandboxPolicyDigest,
  trainerBuildDigest,
  trainerBundleListing,
  verifyAttestationSignature,
  type AttestationPrivateJwk,
} from '../../src/attestation/index.js';
import { decodePart, sampleStatement, sha256Hex, signRaw } from './support.js';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
};

describe('software attester and signature verification', () => {
  const key = generateAttestationKey();
  const other = generateAttestationKey();
  const fixedNow = Date.UTC(2025, 5, 1, 12);
  const attester = createSoftwareAttester(key, { now: () => fixedNow, ttlSeconds: 300 });

  it('signs the statement as EdDSA medfed-attestation+jwt and verifies with the node key', async () => {
    const jws = await attester.attest(sampleStatement());
    const header = decodePart(jws, 0);
    expect(header).toEqual({ alg: 'EdDSA', typ: ATTESTATION_TYP, kid: key.kid });
    const { claims, kid } = verifyAttestationSignature(jws, [publicAttestationJwk(other), attester.publicJwk]);
    expect(kid).toBe(key.kid);
    expect(claims).toEqual({ ...sampleStatement(), v: 1, attester: 'software', iat: fixedNow / 1000, exp: fixedNow / 1000 + 300 });
    expect(attester.kind).toBe('software');
  });

  it('refuses a token signed by another node key, and an altered payload', async () => {
    const jws = await attester.attest(sampleStatement());
    expect(codeOf(() => verifyAttestationSignature(jws, [publicAttestationJwk(other)]))).toBe('ATTESTATION_SIGNATURE_INVALID');
    // Same kid, other key material: the kid alone never selects a key that verifies.
    expect(codeOf(() => verifyAttestationSignature(jws, [{ ...publicAttestationJwk(other), kid: key.kid }]))).toBe('ATTESTATION_SIGNATURE_INVALID');
    const [h, , s] = jws.split('.');
    const forged = Buffer.from(JSON.stringify({ ...decodePart(jws, 1), sandboxed: false })).toString('base64url');
    expect(codeOf(() => verifyAttestationSignature(`${h}.${forged}.${s}`, [attester.publicJwk]))).toBe('ATTESTATION_SIGNATURE_INVALID');
  });

  it('refuses other token types, algorithms and key-redirecting headers before checking the signature', async () => {
    const claims = decodePart(await attester.attest(sampleStatement()), 1);
    const keys = [attester.publicJwk];
    expect(codeOf(() => verifyAttestationSignature(signRaw({ alg: 'EdDSA', typ: 'medfed-manifest+jws', kid: key.kid }, claims, key), keys))).toBe('ATTESTATION_TYP_INVALID');
    expect(codeOf(() => verifyAttestationSignature(signRaw({ alg: 'EdDSA', typ: 'JWT', kid: key.kid }, claims, key), keys))).toBe('ATTESTATION_TYP_INVALID');
    expect(codeOf(() => verifyAttestationSignature(signRaw({ alg: 'none', typ: ATTESTATION_TYP, kid: key.kid }, claims, key), keys))).toBe('ATTESTATION_ALG_INVALID');
    expect(codeOf(() => verifyAttestationSignature(signRaw({ alg: 'EdDSA', typ: ATTESTATION_TYP, kid: key.kid, jwk: attester.publicJwk }, claims, key), keys))).toBe('ATTESTATION_HEADER_FORBIDDEN');
    expect(codeOf(() => verifyAttestationSignature('not.a-jws', keys))).toBe('ATTESTATION_MALFORMED');
    expect(codeOf(() => verifyAttestationSignature('x'.repeat(20_000), keys))).toBe('ATTESTATION_MALFORMED');
  });

  it('refuses a validly signed payload that breaks the claim schema', async () => {
    const claims = decodePart(await attester.attest(sampleStatement()), 1);
    const header = { alg: 'EdDSA', typ: ATTESTATION_TYP, kid: key.kid };
    const keys = [attester.publicJwk];
    expect(codeOf(() => verifyAttestationSignature(signRaw(header, { ...claims, extra: 1 }, key), keys))).toBe('ATTESTATION_CLAIMS_INVALID');
    expect(codeOf(() => verifyAttestationSignature(signRaw(header, { ...claims, sandboxed: 'yes' }, key), keys))).toBe('ATTESTATION_CLAIMS_INVALID');
    expect(codeOf(() => verifyAttestationSignature(signRaw(header, { ...claims, exp: (claims.iat as number) + 7200 }, key), keys))).toBe('ATTESTATION_CLAIMS_INVALID');
    expect(codeOf(() => verifyAttestationSignature(signRaw(header, { ...claims, attester: 'tpm' }, key), keys))).toBe('ATTESTATION_CLAIMS_INVALID');
  });

  it('refuses to attest an invalid statement', async () => {
    await expect(attester.attest(sampleStatement({ updateSha256: 'abc' }))).rejects.toMatchObject({ code: 'ATTESTATION_CLAIMS_INVALID' });
    await expect(attester.attest({ ...sampleStatement(), extra: true } as never)).rejects.toMatchObject({ code: 'ATTESTATION_CLAIMS_INVALID' });
  });

  it('round-trips any valid statement', async () => {
    const hex = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
    const statement = fc.record({
      site: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/),
      job: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,30}$/),
      round: fc.integer({ min: 0, max: 1_000_000 }),
      nonce: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('base64url')),
      trainerDigest: hex,
      sandboxPolicyDigest: hex,
      manifestDigest: hex,
      updateSha256: hex,
      sandboxed: fc.boolean(),
    });
    await fc.assert(fc.asyncProperty(statement, async (s) => {
      const { claims } = verifyAttestationSignature(await attester.attest(s), [attester.publicJwk]);
      expect(claims).toMatchObject(s);
    }), { numRuns: 50 });
  });
});

describe('measurement digests', () => {
  const files = [
    { path: 'node-agent/dist/sandbox/trainer-main.js', sha256: sha256Hex('main') },
    { path: 'runtime/node', sha256: sha256Hex('node binary') },
    { path: 'node_modules/@medfed/proto', symlink: '../../proto' },
    { path: 'node-agent/package.json', sha256: sha256Hex('{"type":"module"}') },
  ];

  it('lists the bundle in byte order of path and digests the listing', () => {
    const listing = trainerBundleListing(files);
    expect(listing.split('\n')).toEqual([
      'medfed-trainer-bundle v1',
      `F ${sha256Hex('main')} node-agent/dist/sandbox/trainer-main.js`,
      `F ${sha256Hex('{"type":"module"}')} node-agent/package.json`,
      'L ../../proto node_modules/@medfed/proto',
      `F ${sha256Hex('node binary')} runtime/node`,
      '',
    ]);
    expect(trainerBuildDigest(files)).toBe(sha256Hex(listing));
    expect(trainerBuildDigest([...files].reverse())).toBe(trainerBuildDigest(files));
  });

  it('changes when any file, path or link changes', () => {
    const base = trainerBuildDigest(files);
    const variants = [
      files.map((f, i) => (i === 0 ? { ...f, sha256: sha256Hex('patched main') } : f)),
      files.map((f, i) => (i === 1 ? { ...f, path: 'runtime/node2' } : f)),
      files.map((f, i) => (i === 2 ? { path: f.path, symlink: '../../evil' } : f)),
      files.slice(1),
    ];
    for (const v of variants) expect(trainerBuildDigest(v)).not.toBe(base);
  });

  it('refuses paths that could alias another entry', () => {
    for (const path of ['/abs', 'a/../b', 'a//b', './a', 'a\nF x b']) {
      expect(codeOf(() => trainerBuildDigest([{ path, sha256: sha256Hex('x') }]))).toBe('ATTESTATION_MEASUREMENT_INVALID');
    }
    expect(codeOf(() => trainerBuildDigest([{ path: 'a', sha256: sha256Hex('x') }, { path: 'a', sha256: sha256Hex('y') }]))).toBe('ATTESTATION_MEASUREMENT_INVALID');
  });

  it('digests the sandbox policy independently of key order', () => {
    const a = { limits: { memoryBytes: 1, cpuSeconds: 2 }, binds: ['/x'], seccomp: 'ab' };
    const b = { seccomp: 'ab', binds: ['/x'], limits: { cpuSeconds: 2, memoryBytes: 1 } };
    expect(sandboxPolicyDigest(a)).toBe(sandboxPolicyDigest(b));
    expect(sandboxPolicyDigest(a)).not.toBe(sandboxPolicyDigest({ ...a, binds: ['/x', '/y'] }));
  });
});

describe('attestation key file', () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'medfed-attkey-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  it('creates a 0600 key on first use and reads the same key back', async () => {
    const path = join(dir, 'keys', 'attestation.jwk');
    const first = await loadOrCreateAttestationKey(path);
    expect(first.created).toBe(true);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateAttestationKey(path);
    expect(again.created).toBe(false);
    expect(again.key).toEqual(first.key);
    expect(first.key.kid).toMatch(/^att-[A-Za-z0-9_-]{43}$/);
  });

  it('refuses a key file other users can read, a symlink, and the identity key path', async () => {
    const loose = join(dir, 'loose.jwk');
    await writeFile(loose, JSON.stringify(generateAttestationKey()), { mode: 0o600 });
    await chmod(loose, 0o644);
    await expect(loadOrCreateAttestationKey(loose)).rejects.toMatchObject({ code: 'ATTESTATION_KEY_FILE_UNSAFE' });
    const link = join(dir, 'link.jwk');
    await symlink(loose, link);
    await expect(loadOrCreateAttestationKey(link)).rejects.toMatchObject({ code: 'ATTESTATION_KEY_FILE_UNSAFE' });
    const identity = join(dir, 'identity.jwk');
    await writeFile(identity, '{}', { mode: 0o600 });
    await expect(loadOrCreateAttestationKey(identity, { distinctFrom: [identity] })).rejects.toMatchObject({ code: 'ATTESTATION_KEY_INVALID' });
  });

  it('never puts private material into the public key', () => {
    const key: AttestationPrivateJwk = generateAttestationKey('node-a-att-1');
    const pub = publicAttestationJwk(key);
    expect(pub).toEqual({ kty: 'OKP', crv: 'Ed25519', x: key.x, kid: 'node-a-att-1', alg: 'EdDSA', use: 'sig' });
    expect('d' in pub).toBe(false);
  });
});
