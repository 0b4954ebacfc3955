import { createHash, generateKeyPairSync } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, readFile, realpath } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { AttestationError } from './errors.js';

/** A node's attestation public key as registered with the coordinator (RFC 8037 OKP JWK). */
export interface AttestationPublicJwk {
  readonly kty: 'OKP';
  readonly crv: 'Ed25519';
  readonly x: string;
  readonly kid: string;
  readonly alg: 'EdDSA';
  readonly use: 'sig';
}

/** The private half; it lives only in the agent's 0600 key file, never in the sandbox. */
export interface AttestationPrivateJwk extends AttestationPublicJwk {
  readonly d: string;
}

const B64URL_32 = /^[A-Za-z0-9_-]{43}$/;
const KID = /^[\x21-\x7e]{1,128}$/;

/** RFC 7638 thumbprint of an Ed25519 key, base64url: a kid that names the key material itself. */
export function attestationKeyThumbprint(x: string): string {
  return createHash('sha256').update(`{"crv":"Ed25519","kty":"OKP","x":"${x}"}`).digest('base64url');
}

/** A fresh Ed25519 attestation key; kid defaults to `att-` plus its RFC 7638 thumbprint. */
export function generateAttestationKey(kid?: string): AttestationPrivateJwk {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' }) as { x: string; d: string };
  const id = kid ?? `att-${attestationKeyThumbprint(jwk.x)}`;
  if (!KID.test(id)) throw new AttestationError('ATTESTATION_KEY_INVALID', `kid ${JSON.stringify(id)} must be 1 to 128 printable ASCII characters`);
  return { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d, kid: id, alg: 'EdDSA', use: 'sig' };
}

export function publicAttestationJwk(key: AttestationPublicJwk): AttestationPublicJwk {
  return { kty: 'OKP', crv: 'Ed25519', x: key.x, kid: key.kid, alg: 'EdDSA', use: 'sig' };
}

/** Validates a registered public key; private material is refused so it never lands in the coordinator's store. */
export function parseAttestationPublicJwk(value: unknown): AttestationPublicJwk {
  const jwk = checkCommon(value, 'attestation public key');
  if ('d' in jwk) throw new AttestationError('ATTESTATION_KEY_INVALID', `attestation public key ${String(jwk.kid)} carries a private part (d); register only the public key`);
  return publicAttestationJwk(jwk as unknown as AttestationPublicJwk);
}

export function parseAttestationPrivateJwk(value: unknown): AttestationPrivateJwk {
  const jwk = checkCommon(value, 'attestation private key');
  if (typeof jwk.d !== 'string' || !B64URL_32.test(jwk.d)) {
    throw new AttestationError('ATTESTATION_KEY_INVALID', 'the attestation private key has no 32-byte base64url d');
  }
  return { ...publicAttestationJwk(jwk as unknown as AttestationPublicJwk), d: jwk.d };
}

function checkCommon(value: unknown, what: string): Record<string, unknown> {
  const bad = (why: string): never => {
    throw new AttestationError('ATTESTATION_KEY_INVALID', `the ${what} is invalid: ${why}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('expected a JWK object');
  const jwk = value as Record<string, unknown>;
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') bad(`kty ${JSON.stringify(jwk.kty)} / crv ${JSON.stringify(jwk.crv)} is not OKP / Ed25519`);
  if (typeof jwk.x !== 'string' || !B64URL_32.test(jwk.x)) bad('x must be 32 bytes of base64url');
  if (typeof jwk.kid !== 'string' || !KID.test(jwk.kid)) bad('kid must be 1 to 128 printable ASCII characters');
  if (jwk.alg !== undefined && jwk.alg !== 'EdDSA') bad(`alg is ${JSON.stringify(jwk.alg)}, not EdDSA`);
  if (jwk.use !== undefined && jwk.use !== 'sig') bad(`use is ${JSON.stringify(jwk.use)}, not sig`);
  return jwk;
}

export interface AttestationKeyFileOptions {
  /** Key files the attestation key must not be (the node identity key): a shared key would let one leak forge both. */
  readonly distinctFrom?: readonly string[];
}

/**
 * Reads the node's attestation key from `path`, or creates it there (mode 0600, exclusive create,
 * parent directory 0700) on first use. Refuses a file that other users can read or write, a symlink,
 * or a path that is one of `distinctFrom`.
 */
export async function loadOrCreateAttestationKey(path: string, options: AttestationKeyFileOptions = {}): Promise<{ key: AttestationPrivateJwk; created: boolean }> {
  const target = resolve(path);
  await assertDistinct(target, options.distinctFrom ?? []);
  const existing = await lstat(target).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (existing === undefined) {
    const key = generateAttestationKey();
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    const handle = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(key)}\n`, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    return { key, created: true };
  }
  if (!existing.isFile()) throw new AttestationError('ATTESTATION_KEY_FILE_UNSAFE', `${target} is not a regular file (symlinks are refused); point the attestation key path at a plain file`);
  if ((existing.mode & 0o077) !== 0) {
    throw new AttestationError('ATTESTATION_KEY_FILE_UNSAFE', `${target} has mode ${(existing.mode & 0o777).toString(8)}; other users can access it. Run: chmod 600 ${target}`);
  }
  if (typeof process.getuid === 'function' && existing.uid !== process.getuid()) {
    throw new AttestationError('ATTESTATION_KEY_FILE_UNSAFE', `${target} is owned by uid ${existing.uid}, not by the agent's uid ${process.getuid()}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(target, 'utf8'));
  } catch (err) {
    throw new AttestationError('ATTESTATION_KEY_INVALID', `${target} is not a JSON JWK: ${(err as Error).message}`, undefined, { cause: err });
  }
  return { key: parseAttestationPrivateJwk(parsed), created: false };
}

async function assertDistinct(target: string, others: readonly string[]): Promise<void> {
  const real = async (p: string) => realpath(p).catch(() => resolve(p));
  const mine = await real(target);
  for (const other of others) {
    if ((await real(other)) === mine) {
      throw new AttestationError('ATTESTATION_KEY_INVALID', `the attestation key path ${target} is the same file as ${other}; the attestation key must be a key of its own, separate from the node identity key`);
    }
  }
}
