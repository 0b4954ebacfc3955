import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

// DER wrappings of raw Ed25519 keys (RFC 8410): Node imports raw keys only through these.
const PKCS8_SEED_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export const ED25519_KEY_SIZE = 32;
export const ED25519_SIGNATURE_SIZE = 64;

export function ed25519PrivateKey(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_SEED_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

export function ed25519PublicKey(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function ed25519PublicKeyBytes(key: KeyObject): Uint8Array {
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return spki.subarray(spki.length - ED25519_KEY_SIZE);
}

export function ed25519Seed(key: KeyObject): Uint8Array {
  const pkcs8 = key.export({ format: 'der', type: 'pkcs8' });
  return pkcs8.subarray(pkcs8.length - ED25519_KEY_SIZE);
}

export function generateEd25519Seed(): Uint8Array {
  return ed25519Seed(generateKeyPairSync('ed25519').privateKey);
}

export function ed25519Sign(key: KeyObject, message: Uint8Array): Uint8Array {
  return sign(null, message, key);
}

export function ed25519Verify(key: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== ED25519_SIGNATURE_SIZE) return false;
  try {
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}
