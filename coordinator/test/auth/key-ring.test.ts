import { afterEach, describe, expect, it } from '@jest/globals';
import { chmod, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyAccessToken, issueAccessToken } from '../../src/auth/tokens/access-token.js';
import { FileSigningKeyStore } from '../../src/keys/file-signing-key-store.js';
import { TokenKeyRing } from '../../src/keys/key-ring.js';

const dirs: string[] = [];
async function dir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'medfed-keys-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const OPTIONS = { maxTokenSeconds: 300, skewSeconds: 5, rotateAfterSeconds: 0 };
const subject = { issuer: 'https://c', audience: 'api', sub: 'key:x', role: 'admin' as const, sid: 'ses_1' };
const expectation = (now: number) => ({ issuer: 'https://c', audience: 'api', now, skewSeconds: 5 });

describe('token signing keys', () => {
  it('creates one key on first open, in a 0600 file named by its thumbprint, and reopens the same key', async () => {
    const d = await dir();
    const ring = await TokenKeyRing.open(new FileSigningKeyStore(d), OPTIONS);
    const { kid } = ring.active();
    const files = await readdir(d);
    expect(files).toEqual([`${kid}.json`]);
    expect((await stat(join(d, files[0]!))).mode & 0o777).toBe(0o600);
    expect(ring.jwks().keys).toEqual([expect.objectContaining({ kid, kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' })]);
    expect(JSON.stringify(ring.jwks())).not.toContain('"d"');
    const again = await TokenKeyRing.open(new FileSigningKeyStore(d), OPTIONS);
    expect(again.active().kid).toBe(kid);
  });

  it('keeps a retired key published until its tokens have expired, then drops it', async () => {
    const d = await dir();
    const t0 = new Date('2030-01-01T00:00:00Z');
    const s = (date: Date) => Math.floor(date.getTime() / 1000);
    const ring = await TokenKeyRing.open(new FileSigningKeyStore(d), OPTIONS, t0);
    const old = await issueAccessToken(ring, subject, 300, s(t0));
    const first = ring.active().kid;
    const t1 = new Date(t0.getTime() + 60_000);
    await ring.rotate(t1);
    expect(ring.active().kid).not.toBe(first);
    expect(ring.jwks().keys.map((k) => k.kid)).toContain(first);
    expect(verifyAccessToken(old.token, ring, expectation(s(t1))).sub).toBe('key:x');
    await ring.maintain(new Date(t1.getTime() + 304_000)); // inside max lifetime + skew: still published
    expect(ring.jwks().keys).toHaveLength(2);
    await ring.maintain(new Date(t1.getTime() + 306_000));
    expect(ring.jwks().keys.map((k) => k.kid)).toEqual([ring.active().kid]);
    expect(() => verifyAccessToken(old.token, ring, expectation(s(t1)))).toThrow(expect.objectContaining({ code: 'AUTH_KID_UNKNOWN' }));
    expect(await readdir(d)).toEqual([`${ring.active().kid}.json`]);
  });

  it('rotates on its own once the key reaches its age', async () => {
    const d = await dir();
    const t0 = new Date('2030-01-01T00:00:00Z');
    const ring = await TokenKeyRing.open(new FileSigningKeyStore(d), { ...OPTIONS, rotateAfterSeconds: 86_400 }, t0);
    const first = ring.active().kid;
    await ring.maintain(new Date(t0.getTime() + 3_600_000));
    expect(ring.active().kid).toBe(first);
    await ring.maintain(new Date(t0.getTime() + 86_400_000));
    expect(ring.active().kid).not.toBe(first);
  });

  it('refuses a key file that others can read, or one that holds another key than its name', async () => {
    const d = await dir();
    const ring = await TokenKeyRing.open(new FileSigningKeyStore(d), OPTIONS);
    const path = join(d, `${ring.active().kid}.json`);
    await chmod(path, 0o644);
    await expect(TokenKeyRing.open(new FileSigningKeyStore(d), OPTIONS)).rejects.toMatchObject({ code: 'AUTH_SIGNING_KEY_INVALID' });
    await chmod(path, 0o600);
    const other = await dir();
    const ring2 = await TokenKeyRing.open(new FileSigningKeyStore(other), OPTIONS);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path, await readFile(join(other, `${ring2.active().kid}.json`)), { mode: 0o600 });
    await expect(TokenKeyRing.open(new FileSigningKeyStore(d), OPTIONS)).rejects.toMatchObject({ code: 'AUTH_SIGNING_KEY_INVALID' });
  });

  it('never issues a token living longer than 15 minutes, whatever it is asked', async () => {
    const ring = await TokenKeyRing.open(new FileSigningKeyStore(await dir()), OPTIONS);
    const issued = await issueAccessToken(ring, subject, 86_400);
    expect(issued.claims.exp - issued.claims.iat).toBe(900);
    expect(issued.expiresIn).toBe(900);
  });
});
