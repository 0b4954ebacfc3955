import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JWK } from 'jose';
import { ed25519Signer, generateManifestKeyPair, parseJwks, type ManifestJwks, type ManifestPublicJwk, type Signer } from '@medfed/proto/manifest/index';
import { generateNoteKey, noteSigner, type NoteSigner } from '@medfed/proto/tlog/index';
import { PublishingError } from './errors.js';

interface ManifestKeyFile {
  readonly privateJwk: JWK;
  readonly createdAt: string;
  /** A retired key no longer signs but stays in the JWKS, so older manifests still verify. */
  readonly retiredAt: string | null;
}

export interface ManifestKeys {
  readonly signer: Signer;
  /** Every manifest key, retired ones included: what sites pin and bundles carry. */
  readonly jwks: ManifestJwks;
}

const KEY_FILE = /^[A-Za-z0-9_-]{1,128}\.json$/;

/** Private key files are refused when group or others can read them (as the admin key file is). */
async function readPrivate(path: string): Promise<string> {
  const s = await stat(path);
  if ((s.mode & 0o077) !== 0) {
    throw new PublishingError('PUBLISH_KEY_INVALID', `${path} is readable by group or others (mode ${(s.mode & 0o777).toString(8)}); run chmod 600 on it`);
  }
  return readFile(path, 'utf8');
}

async function writePrivate(path: string, content: string): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, content, { mode: 0o600, flag: 'wx' });
  await rename(tmp, path);
}

/**
 * The coordinator's manifest signing keys (Ed25519 private JWKs, 0600, in a 0700 directory). The
 * first start creates one; the newest key that is not retired signs.
 */
export async function ensureManifestKeys(dir: string, now: Date = new Date()): Promise<ManifestKeys> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let files: { kid: string; file: ManifestKeyFile }[] = [];
  for (const name of (await readdir(dir)).filter((n) => KEY_FILE.test(n)).sort()) {
    try {
      files.push({ kid: name.slice(0, -5), file: JSON.parse(await readPrivate(join(dir, name))) as ManifestKeyFile });
    } catch (err) {
      if (err instanceof PublishingError) throw err;
      throw new PublishingError('PUBLISH_KEY_INVALID', `the manifest key file ${join(dir, name)} is unreadable: ${(err as Error).message}`, undefined, { cause: err });
    }
  }
  if (!files.some((f) => f.file.retiredAt === null)) {
    const kid = `medfed-manifest-${now.toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(3).toString('hex')}`;
    const pair = await generateManifestKeyPair(kid);
    const file: ManifestKeyFile = { privateJwk: pair.privateJwk, createdAt: now.toISOString(), retiredAt: null };
    await writePrivate(join(dir, `${kid}.json`), `${JSON.stringify(file, null, 2)}\n`);
    files = [...files, { kid, file }];
  }
  const active = files.filter((f) => f.file.retiredAt === null).sort((a, b) => b.file.createdAt.localeCompare(a.file.createdAt))[0]!;
  const keys: ManifestPublicJwk[] = files.map(({ kid, file }) => ({ kty: 'OKP', crv: 'Ed25519', x: String(file.privateJwk.x), kid, alg: 'EdDSA', use: 'sig' }));
  return { signer: await ed25519Signer({ ...active.file.privateJwk, kid: active.kid }), jwks: parseJwks({ keys }) };
}

/**
 * The transparency log's checkpoint key (C2SP signed-note, Ed25519), created at first start. Its
 * name is the log origin, unique per deployment so that two coordinators' checkpoints never mix.
 */
export async function ensureLogKey(dir: string): Promise<NoteSigner> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, 'log.key');
  let skey: string;
  try {
    skey = (await readPrivate(path)).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      if (err instanceof PublishingError) throw err;
      throw new PublishingError('PUBLISH_KEY_INVALID', `the log key ${path} is unreadable: ${(err as Error).message}`, undefined, { cause: err });
    }
    skey = generateNoteKey(`medfed-coordinator-${randomBytes(4).toString('hex')}/log`).signerKey;
    await writePrivate(path, `${skey}\n`);
  }
  try {
    return noteSigner(skey);
  } catch (err) {
    throw new PublishingError('PUBLISH_KEY_INVALID', `the log key ${path} is not a signed-note private key: ${(err as Error).message}`, undefined, { cause: err });
  }
}
