import { createHash, createPublicKey, KeyObject } from 'node:crypto';
import { GateError } from '../errors.js';
import { readInput, type InputSource } from '../read-input.js';
import { algorithmOf, type KeyAlgorithm } from './key-algorithms.js';

export interface TrustedKey {
  readonly key: KeyObject;
  readonly algorithm: KeyAlgorithm;
  /** sha256 of the SPKI DER, to name the key in decisions. */
  readonly fingerprint: string;
}

/** A PEM text, a path to a PEM file, PEM bytes, or a KeyObject. */
export type TrustedKeySource = InputSource | KeyObject;

/** Loads a trusted public key: PEM SPKI (`-----BEGIN PUBLIC KEY-----`, e.g. cosign.pub). */
export async function loadPublicKey(source: TrustedKeySource, what = 'trusted key'): Promise<TrustedKey> {
  if (source instanceof KeyObject) return describeKey(source, what);
  const isPemText = typeof source === 'string' && source.trimStart().startsWith('-----BEGIN');
  const text = isPemText ? (source as string) : (await readInput(source, what)).toString('utf8');
  const where = isPemText || typeof source !== 'string' ? what : `${what} ${source}`;
  const label = text.match(/-----BEGIN ([A-Z0-9 ]+)-----/)?.[1];
  if (label !== 'PUBLIC KEY') {
    throw new GateError('GATE_KEY_INVALID', `${where}: expected a PEM "PUBLIC KEY" (SPKI) block, found ${label ? `"${label}"` : 'no PEM block'}; export the public half (for cosign: cosign.pub)`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: 'pem' });
  } catch (error) {
    throw new GateError('GATE_KEY_INVALID', `${where}: the PUBLIC KEY block does not parse (${(error as Error).message})`, undefined, { cause: error });
  }
  return describeKey(key, where);
}

function describeKey(key: KeyObject, where: string): TrustedKey {
  if (key.type !== 'public') throw new GateError('GATE_KEY_INVALID', `${where}: a trusted key must be a public key`);
  const algorithm = algorithmOf(key);
  if (!algorithm) {
    const detail = key.asymmetricKeyDetails?.namedCurve ?? key.asymmetricKeyType ?? 'unknown';
    throw new GateError('GATE_KEY_INVALID', `${where}: ${detail} keys are not supported; use Ed25519, ECDSA P-256 (cosign's default) or ECDSA P-384`);
  }
  const der = key.export({ type: 'spki', format: 'der' });
  return { key, algorithm, fingerprint: `sha256:${createHash('sha256').update(der).digest('hex')}` };
}
