import type { KeyObject } from 'node:crypto';

/** Key types the gate trusts, with the hash each signs with (null: the algorithm hashes itself). */
export const KEY_ALGORITHMS = [
  { id: 'ed25519', keyType: 'ed25519', curve: undefined, hash: null, p1363Length: null },
  { id: 'ecdsa-p256-sha256', keyType: 'ec', curve: 'prime256v1', hash: 'sha256', p1363Length: 64 },
  { id: 'ecdsa-p384-sha384', keyType: 'ec', curve: 'secp384r1', hash: 'sha384', p1363Length: 96 },
] as const;

export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

export function algorithmOf(key: KeyObject): KeyAlgorithm | undefined {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return KEY_ALGORITHMS.find((algorithm) => algorithm.keyType === key.asymmetricKeyType && algorithm.curve === curve);
}
