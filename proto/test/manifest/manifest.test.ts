import { describe, expect, it } from '@jest/globals';
import { createPrivateKey, sign } from 'node:crypto';
import type { JWK } from 'jose';
import {
  MANIFEST_TYP,
  ed25519Signer,
  generateManifestKeyPair,
  manifestProblems,
  parseJwks,
  signManifest,
  verifyManifest,
  type Manifest,
  type ManifestJwks,
} from '../../src/manifest/index.js';
import { sampleManifest, sha256Hex } from './fixtures.js';

const current = await generateManifestKeyPair('coordinator-2025');
const retired = await generateManifestKeyPair('coordinator-2024');
const stranger = await generateManifestKeyPair('attacker');
const jwks: ManifestJwks = { keys: [current.publicJwk, retired.publicJwk] };

const b64url = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** Signs any header and payload with a private JWK (RFC 7515 signing input), bypassing every library check. */
async function rawSign(privateJwk: JWK, header: Record<string, unknown>, payload: unknown): Promise<string> {
  const input = `${b64url(header)}.${b64url(payload)}`;
  const key = createPrivateKey({ key: privateJwk as never, format: 'jwk' });
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
}

describe('signManifest / verifyManifest', () => {
  it('round-trips, with the pinned header and a canonical payload', async () => {
    const jws = await signManifest(sampleManifest(), await ed25519Signer(current.privateJwk));
    const [h, p] = jws.split('.') as [string, string];
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ typ: MANIFEST_TYP, alg: 'EdDSA', kid: 'coordinator-2025' });
    const payload = Buffer.from(p, 'base64url').toString();
    expect(payload.startsWith('{"blobs":[{"name":"model.bin"')).toBe(true); // RFC 8785 orders members
    const verified = await verifyManifest(jws, jwks);
    expect(verified.manifest).toEqual(sampleManifest());
    expect(verified.kid).toBe('coordinator-2025');
    expect(verified.digest).toBe(sha256Hex(jws));
  });

  it('gives identical JWS bytes for the same manifest whatever the member order (Ed25519 is deterministic)', async () => {
    const signer = await ed25519Signer(current.privateJwk);
    const reordered = Object.fromEntries(Object.entries(sampleManifest()).reverse()) as unknown as Manifest;
    expect(await signManifest(reordered, signer)).toBe(await signManifest(sampleManifest(), signer));
  });

  it('verifies a manifest signed by a retired key still listed in the JWKS', async () => {
    const jws = await signManifest(sampleManifest({ round: 1 }), await ed25519Signer(retired.privateJwk));
    expect((await verifyManifest(jws, jwks)).kid).toBe('coordinator-2024');
    await expect(verifyManifest(jws, { keys: [current.publicJwk] })).rejects.toMatchObject({ code: 'MANIFEST_KEY_UNKNOWN' });
  });

  it('refuses to sign an invalid manifest', async () => {
    await expect(signManifest(sampleManifest({ round: -1 }), await ed25519Signer(current.privateJwk))).rejects.toMatchObject({ code: 'MANIFEST_SCHEMA_INVALID' });
  });

  const good = sampleManifest();
  const header = { alg: 'EdDSA', typ: MANIFEST_TYP, kid: 'coordinator-2025' };
  const attacks: Array<[string, () => Promise<string>, string]> = [
    ['alg none', async () => `${b64url({ ...header, alg: 'none' })}.${b64url(good)}.`, 'MANIFEST_ALG_INVALID'],
    ['alg HS256', async () => `${b64url({ ...header, alg: 'HS256' })}.${b64url(good)}.${Buffer.alloc(32).toString('base64url')}`, 'MANIFEST_ALG_INVALID'],
    ['alg Ed25519 (not the pinned name)', async () => rawSign(current.privateJwk, { ...header, alg: 'Ed25519' }, good), 'MANIFEST_ALG_INVALID'],
    ['typ JWT', async () => rawSign(current.privateJwk, { ...header, typ: 'JWT' }, good), 'MANIFEST_TYP_INVALID'],
    ['no typ', async () => rawSign(current.privateJwk, { alg: 'EdDSA', kid: 'coordinator-2025' }, good), 'MANIFEST_TYP_INVALID'],
    ['jku header', async () => rawSign(current.privateJwk, { ...header, jku: 'https://evil.example/jwks' }, good), 'MANIFEST_HEADER_FORBIDDEN'],
    ['x5u header', async () => rawSign(current.privateJwk, { ...header, x5u: 'https://evil.example/cert' }, good), 'MANIFEST_HEADER_FORBIDDEN'],
    ['embedded jwk', async () => rawSign(stranger.privateJwk, { ...header, jwk: stranger.publicJwk }, good), 'MANIFEST_HEADER_FORBIDDEN'],
    ['crit header', async () => rawSign(current.privateJwk, { ...header, crit: ['exp'], exp: 1 }, good), 'MANIFEST_HEADER_FORBIDDEN'],
    ['unknown kid', async () => rawSign(stranger.privateJwk, { ...header, kid: 'attacker' }, good), 'MANIFEST_KEY_UNKNOWN'],
    ['no kid', async () => rawSign(current.privateJwk, { alg: 'EdDSA', typ: MANIFEST_TYP }, good), 'MANIFEST_KEY_UNKNOWN'],
    ['trusted kid, other key', async () => rawSign(stranger.privateJwk, header, good), 'MANIFEST_SIGNATURE_INVALID'],
    ['payload swapped after signing', async () => {
      const [h, , s] = (await rawSign(current.privateJwk, header, good)).split('.');
      return `${h}.${b64url({ ...good, round: 4 })}.${s}`;
    }, 'MANIFEST_SIGNATURE_INVALID'],
    ['payload not JSON', async () => rawSign(current.privateJwk, header, 'not json'), 'MANIFEST_SCHEMA_INVALID'],
    ['payload with an extra field', async () => rawSign(current.privateJwk, header, { ...good, note: 'hi' }), 'MANIFEST_SCHEMA_INVALID'],
    ['JWS JSON serialisation', async () => JSON.stringify({ protected: b64url(header), payload: b64url(good), signature: 'AA' }), 'MANIFEST_MALFORMED'],
    ['two parts only', async () => `${b64url(header)}.${b64url(good)}`, 'MANIFEST_MALFORMED'],
    ['header not JSON', async () => `${Buffer.from('nope').toString('base64url')}.${b64url(good)}.AA`, 'MANIFEST_MALFORMED'],
  ];
  it.each(attacks)('refuses %s', async (_name, make, code) => {
    await expect(verifyManifest(await make(), jwks)).rejects.toMatchObject({ code });
  });
});

describe('manifest schema', () => {
  const cases: Array<[string, unknown, string]> = [
    ['a missing job', (({ job: _job, ...rest }) => rest)(sampleManifest()), 'manifest.job is missing'],
    ['an unknown kind', { ...sampleManifest(), kind: 'weights' }, 'manifest.kind must be one of'],
    ['a fractional round', { ...sampleManifest(), round: 1.5 }, 'manifest.round must be an integer'],
    ['an uppercase digest', { ...sampleManifest(), blobs: [{ name: 'model.bin', sha256: 'A'.repeat(64), size: 1 }] }, 'manifest.blobs[0].sha256'],
    ['no blobs', { ...sampleManifest(), blobs: [] }, 'manifest.blobs must hold 1 to 64'],
    ['a duplicate blob name', { ...sampleManifest(), blobs: [{ name: 'a', sha256: '0'.repeat(64), size: 1 }, { name: 'a', sha256: '1'.repeat(64), size: 1 }] }, 'lists name "a" twice'],
    ['a duplicate contributor', { ...sampleManifest(), contributors: [{ site: 'site-a', sha256: '0'.repeat(64) }, { site: 'site-a', sha256: '1'.repeat(64) }] }, 'lists site "site-a" twice'],
    ['a bad site id', { ...sampleManifest(), contributors: [{ site: 'Site A', sha256: '0'.repeat(64) }] }, 'manifest.contributors[0].site'],
    ['a local time', { ...sampleManifest(), issuedAt: '2025-06-01T12:00:00+02:00' }, 'manifest.issuedAt'],
    ['version 2', { ...sampleManifest(), version: 2 }, 'manifest.version must be 1'],
    ['an array', [], 'manifest must be an object'],
  ];
  it.each(cases)('names the problem with %s', (_name, value, problem) => {
    expect(manifestProblems(value).join('\n')).toContain(problem);
  });

  it('accepts a manifest with null previous manifest and params digest', () => {
    expect(manifestProblems(sampleManifest({ previousManifest: null, paramsDigest: null, contributors: [] }))).toEqual([]);
  });
});

describe('trusted key sets', () => {
  it.each([
    ['a private key', { keys: [{ ...current.privateJwk }] }],
    ['a duplicate kid', { keys: [current.publicJwk, { ...retired.publicJwk, kid: 'coordinator-2025' }] }],
    ['an EC key', { keys: [{ kty: 'EC', crv: 'P-256', x: 'a', y: 'b', kid: 'ec' }] }],
    ['no keys', { keys: [] }],
    ['an encryption key', { keys: [{ ...current.publicJwk, use: 'enc' }] }],
  ])('refuses a JWKS with %s', async (_name, set) => {
    expect(() => parseJwks(set)).toThrow(expect.objectContaining({ code: 'MANIFEST_JWKS_INVALID' }));
    const jws = await signManifest(sampleManifest(), await ed25519Signer(current.privateJwk));
    await expect(verifyManifest(jws, set as ManifestJwks)).rejects.toMatchObject({ code: 'MANIFEST_JWKS_INVALID' });
  });

  it('refuses a signer key that is not an Ed25519 private JWK', async () => {
    await expect(ed25519Signer(current.publicJwk as JWK)).rejects.toMatchObject({ code: 'MANIFEST_KEY_INVALID' });
    await expect(ed25519Signer({ ...current.privateJwk, kid: undefined } as JWK)).rejects.toMatchObject({ code: 'MANIFEST_KEY_INVALID' });
  });
});
