import { createHash } from 'node:crypto';
import { canonicalBytes } from '../audit/jcs.js';
import { base32 } from './base32.js';
import type { TrustBundleManifest } from './bundle-format.js';
import { TrustBundleError } from './errors.js';

/** How many bytes of the SHA-256 the fingerprint shows: 20 bytes = 160 bits = 32 base32 characters. */
const FINGERPRINT_BYTES = 20;
const GROUP = 4;
/** Between groups: a hyphen, which reads well aloud and survives copy and paste. */
export const FINGERPRINT_SEPARATOR = '-';

/** The bytes the fingerprint is computed over: trust.json in RFC 8785 (JCS) canonical form. */
export function canonicalTrustManifest(manifest: TrustBundleManifest): Uint8Array {
  return canonicalBytes(manifest);
}

/**
 * The bundle's fingerprint: SHA-256 over the canonical manifest, its first 160 bits in RFC 4648
 * base32, as 8 groups of 4 characters joined by hyphens (`ABCD-EFGH-...`). The manifest lists each
 * file's SHA-256, so the fingerprint covers every byte of every file.
 */
export function trustFingerprint(manifest: TrustBundleManifest): string {
  return spokenFingerprint(canonicalTrustManifest(manifest));
}

/**
 * The form every medfed fingerprint people compare aloud takes (trust bundles, site pins): SHA-256
 * of the canonical bytes, its first 160 bits in base32, 8 groups of 4 characters joined by hyphens.
 */
export function spokenFingerprint(canonical: Uint8Array | string): string {
  return groups(base32(createHash('sha256').update(canonical).digest().subarray(0, FINGERPRINT_BYTES)));
}

function groups(chars: string): string {
  return chars.match(new RegExp(`.{1,${GROUP}}`, 'g'))!.join(FINGERPRINT_SEPARATOR);
}

/**
 * A fingerprint as a person typed it, in its printed form: case, hyphens and spaces do not matter.
 * Refused with TRUST_BUNDLE_FINGERPRINT_INVALID unless it is 32 base32 characters.
 */
export function parseFingerprint(text: string): string {
  const chars = text.toUpperCase().replace(/[\s-]+/g, '');
  if (!/^[A-Z2-7]{32}$/.test(chars)) {
    throw new TrustBundleError('TRUST_BUNDLE_FINGERPRINT_INVALID', `${JSON.stringify(text)} is not a trust bundle fingerprint: 32 base32 characters (A-Z, 2-7) in 8 groups of 4, e.g. ABCD-EFGH-IJKL-MNOP-QRST-UVWX-YZ23-4567`);
  }
  return groups(chars);
}
