import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AuthError, jwkThumbprint, parsePublicJwk } from '@medfed/proto/auth/index';
import { ed25519Signer, generateManifestKeyPair } from '@medfed/proto/manifest/index';
import type { JWK } from 'jose';
import type { PublishedJwk, SigningKeyStore, TokenSigningKey } from './signing-key.js';

interface KeyFile {
  readonly privateJwk: JWK;
  readonly createdAt: string;
  readonly retiredAt: string | null;
}

const KID = /^[A-Za-z0-9_-]{43}$/;

/**
 * Token signing keys as Ed25519 private JWK files (mode 0600) in a 0700 directory, one per key,
 * named by kid (the key's RFC 7638 thumbprint). Writes go through a temporary file and a rename.
 */
export class FileSigningKeyStore implements SigningKeyStore {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  async list(): Promise<TokenSigningKey[]> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const keys: TokenSigningKey[] = [];
    for (const name of (await readdir(this.#dir)).sort()) {
      if (!name.endsWith('.json') || !KID.test(name.slice(0, -5))) continue;
      keys.push(await this.#read(name.slice(0, -5)));
    }
    return keys;
  }

  async create(now: Date): Promise<TokenSigningKey> {
    const draft = await generateManifestKeyPair('pending');
    const kid = jwkThumbprint(parsePublicJwk(draft.publicJwk, 'new signing key', 'AUTH_SIGNING_KEY_INVALID'));
    const file: KeyFile = { privateJwk: { ...draft.privateJwk, kid }, createdAt: now.toISOString(), retiredAt: null };
    await this.#write(kid, file);
    return this.#toKey(kid, file);
  }

  async retire(kid: string, at: Date): Promise<void> {
    const file = await this.#load(kid);
    await this.#write(kid, { ...file, retiredAt: at.toISOString() });
  }

  async remove(kid: string): Promise<void> {
    if (!KID.test(kid)) return;
    await rm(join(this.#dir, `${kid}.json`), { force: true });
  }

  async #load(kid: string): Promise<KeyFile> {
    const path = join(this.#dir, `${kid}.json`);
    try {
      const s = await stat(path);
      if ((s.mode & 0o077) !== 0) {
        throw new AuthError('AUTH_SIGNING_KEY_INVALID', `${path} is readable by group or others (mode ${(s.mode & 0o777).toString(8)}); run chmod 600 on it`);
      }
      return JSON.parse(await readFile(path, 'utf8')) as KeyFile;
    } catch (err) {
      if (err instanceof AuthError) throw err;
      throw new AuthError('AUTH_SIGNING_KEY_INVALID', `cannot read token signing key ${path}: ${(err as Error).message}`, undefined, { cause: err });
    }
  }

  async #read(kid: string): Promise<TokenSigningKey> {
    return this.#toKey(kid, await this.#load(kid));
  }

  async #write(kid: string, file: KeyFile): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const path = join(this.#dir, `${kid}.json`);
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  }

  async #toKey(kid: string, file: KeyFile): Promise<TokenSigningKey> {
    const { privateJwk } = file;
    const pub = parsePublicJwk({ kty: privateJwk.kty, crv: privateJwk.crv, x: privateJwk.x }, `token signing key ${kid}`, 'AUTH_SIGNING_KEY_INVALID');
    if (jwkThumbprint(pub) !== kid) throw new AuthError('AUTH_SIGNING_KEY_INVALID', `token signing key file ${kid}.json holds another key than its name says`);
    let signer;
    try {
      signer = await ed25519Signer({ ...privateJwk, kid });
    } catch (err) {
      throw new AuthError('AUTH_SIGNING_KEY_INVALID', `token signing key ${kid}: ${(err as Error).message}`, undefined, { cause: err });
    }
    const publicJwk = { ...pub, kid, alg: 'EdDSA', use: 'sig' } as PublishedJwk;
    return { kid, signer, publicJwk, createdAt: new Date(file.createdAt), retiredAt: file.retiredAt ? new Date(file.retiredAt) : null };
  }
}
