import { mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK, type KeyObject } from 'jose';
import { MedfedError } from '@medfed/proto';

/**
 * The site's keys for homomorphic key custody, separate from its identity key:
 * - a key-agreement key (X25519): the job's HE secret key is wrapped to it;
 * - a steward signing key (Ed25519): signs the consortium roster (`medfed agent roster sign`) and
 *   a job's site list, the latter only once the steward approved that exact list
 *   (`medfed agent approve-site-list`). It is created here and labelled `development`.
 * Both live in the agent's state dir as files of mode 0600; looser files are refused.
 */
export interface SiteKey {
  readonly publicJwk: JWK;
  readonly privateKey: KeyObject | Uint8Array;
  readonly thumbprint: string;
}

export interface SiteKeys {
  readonly keyAgreement: SiteKey;
  readonly steward: SiteKey & { readonly development: boolean };
}

interface KeyFile {
  readonly kind: 'key-agreement' | 'steward';
  readonly development?: boolean;
  readonly jwk: JWK;
}

async function readKey(path: string, kind: KeyFile['kind']): Promise<KeyFile | null> {
  let s;
  try {
    s = await stat(path);
  } catch {
    return null;
  }
  if ((s.mode & 0o077) !== 0) {
    throw new MedfedError('KEY_FILE_PERMISSIONS', `${path} is readable by group or others (mode ${(s.mode & 0o777).toString(8)}); run chmod 600 on it`);
  }
  const parsed = JSON.parse(await readFile(path, 'utf8')) as KeyFile;
  if (parsed.kind !== kind || typeof parsed.jwk?.d !== 'string') throw new MedfedError('KEY_FILE_MALFORMED', `${path} is not a ${kind} key file`);
  return parsed;
}

async function writeKey(path: string, file: KeyFile): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(JSON.stringify(file));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}

async function load(path: string, kind: KeyFile['kind'], alg: 'ECDH-ES' | 'EdDSA', crv: 'X25519' | 'Ed25519', development: boolean) {
  let file = await readKey(path, kind);
  if (!file) {
    const { privateKey } = await generateKeyPair(alg, { crv, extractable: true });
    file = { kind, development, jwk: await exportJWK(privateKey) };
    await writeKey(path, file);
  }
  const { d: _d, ...publicJwk } = file.jwk;
  return {
    publicJwk,
    // Extractable, so that node:crypto can sign with it through KeyObject.from (a steward's signed approval).
    privateKey: (await importJWK(file.jwk, alg === 'EdDSA' ? 'EdDSA' : 'ECDH-ES+A256KW', { extractable: true })) as KeyObject,
    thumbprint: await calculateJwkThumbprint(publicJwk, 'sha256'),
    development: file.development ?? false,
  };
}

/** Loads this site's custody keys, creating them on first use. */
export async function ensureSiteKeys(stateDir: string): Promise<SiteKeys> {
  const dir = join(stateDir, 'custody');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const keyAgreement = await load(join(dir, 'key-agreement.jwk'), 'key-agreement', 'ECDH-ES', 'X25519', false);
  const steward = await load(join(dir, 'steward.jwk'), 'steward', 'EdDSA', 'Ed25519', true);
  return { keyAgreement, steward };
}

/** What other sites must pin for this one (exchanged out of band, e.g. printed at enrollment). */
export function pinsOf(siteId: string, keys: SiteKeys) {
  return { siteId, stewardKeyThumbprint: keys.steward.thumbprint, keyAgreementKeyThumbprint: keys.keyAgreement.thumbprint };
}
