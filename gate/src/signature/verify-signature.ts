import { verify } from 'node:crypto';
import type { TrustedKey } from './load-public-key.js';
import { signingSubject } from './signing-subject.js';

export interface SignatureCheck {
  readonly valid: boolean;
  /** Fingerprint of the key that verified it. */
  readonly keyFingerprint: string | null;
}

/** Checks a signature over `sha256:<hex>` against each trusted key; one match is enough. */
export function verifyDigestSignature(digest: string, signature: Buffer, keys: readonly TrustedKey[]): SignatureCheck {
  const subject = signingSubject(digest);
  for (const trusted of keys) {
    const { hash, p1363Length } = trusted.algorithm;
    const encodings = p1363Length === signature.length ? (['ieee-p1363', 'der'] as const) : (['der'] as const);
    for (const dsaEncoding of encodings) {
      let ok = false;
      try {
        ok = verify(hash, subject, { key: trusted.key, dsaEncoding }, signature);
      } catch {
        ok = false; // a malformed DER signature is simply not valid
      }
      if (ok) return { valid: true, keyFingerprint: trusted.fingerprint };
    }
  }
  return { valid: false, keyFingerprint: null };
}
