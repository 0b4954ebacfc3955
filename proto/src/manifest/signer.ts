import { readFile } from 'node:fs/promises';
import { CompactSign, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { ManifestError } from './errors.js';
import type { ManifestPublicJwk } from './jwks.js';

/**
 * Produces a compact JWS over `payload`. The signer owns `alg` and `kid`; the caller supplies the
 * other protected header parameters (for manifests: `typ`). Implement it over an HSM or a KMS
 * when the key must not live in the process; `ed25519Signer` is the in-process default.
 */
export interface Signer {
  readonly kid: string;
  sign(payload: Uint8Array, header: Readonly<Record<string, unknown>>): Promise<string>;
}

export interface ManifestKeyPair {
  /** Keep secret (file mode 0600); `loadManifestSigner` reads it back. */
  readonly privateJwk: JWK;
  /** Publish in the trusted JWKS. */
  readonly publicJwk: ManifestPublicJwk;
}

export async function generateManifestKeyPair(kid: string): Promise<ManifestKeyPair> {
  if (kid.length === 0 || kid.length > 128) throw new ManifestError('MANIFEST_KEY_INVALID', 'a kid must be 1 to 128 characters');
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const priv = await exportJWK(privateKey);
  const pub = await exportJWK(publicKey);
  return {
    privateJwk: { ...priv, kid, alg: 'EdDSA', use: 'sig' },
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x: pub.x!, kid, alg: 'EdDSA', use: 'sig' },
  };
}

/** The in-process Ed25519 signer over a private JWK (kty OKP, crv Ed25519, d, x, kid). */
export async function ed25519Signer(privateJwk: JWK): Promise<Signer> {
  const { kid } = privateJwk;
  if (privateJwk.kty !== 'OKP' || privateJwk.crv !== 'Ed25519' || typeof privateJwk.d !== 'string' || typeof kid !== 'string' || kid.length === 0) {
    throw new ManifestError('MANIFEST_KEY_INVALID', 'the manifest signing key must be an Ed25519 private JWK (kty OKP, crv Ed25519, d, x) with a kid');
  }
  let key: Awaited<ReturnType<typeof importJWK>>;
  try {
    key = await importJWK({ kty: 'OKP', crv: 'Ed25519', d: privateJwk.d, x: privateJwk.x! }, 'EdDSA');
  } catch (err) {
    throw new ManifestError('MANIFEST_KEY_INVALID', `the manifest signing key ${kid} cannot be imported: ${(err as Error).message}`, undefined, { cause: err });
  }
  return {
    kid,
    sign: (payload, header) => new CompactSign(payload).setProtectedHeader({ ...header, alg: 'EdDSA', kid }).sign(key),
  };
}

/** Reads a private JWK from a JSON file. */
export async function loadManifestSigner(path: string): Promise<Signer> {
  let jwk: JWK;
  try {
    jwk = JSON.parse(await readFile(path, 'utf8')) as JWK;
  } catch (err) {
    throw new ManifestError('MANIFEST_KEY_INVALID', `cannot read the manifest signing key ${path}: ${(err as Error).message}`, undefined, { cause: err });
  }
  return ed25519Signer(jwk);
}
