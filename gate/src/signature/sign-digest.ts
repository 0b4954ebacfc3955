import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { GateError } from '../errors.js';
import { algorithmOf } from './key-algorithms.js';
import { signingSubject } from './signing-subject.js';

/**
 * Signs an artifact digest the way the gate verifies it (and as `cosign sign-blob` does over a file
 * holding `sha256:<hex>`): base64 of the Ed25519 signature or the DER ECDSA signature.
 */
export function signDigest(digest: string, privateKey: KeyObject | string): string {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  if (key.type !== 'private') throw new GateError('GATE_KEY_INVALID', 'signing needs a private key');
  const algorithm = algorithmOf(key);
  if (!algorithm) throw new GateError('GATE_KEY_INVALID', 'signing key must be Ed25519, ECDSA P-256 or ECDSA P-384');
  return sign(algorithm.hash, signingSubject(digest), { key, dsaEncoding: 'der' }).toString('base64');
}
