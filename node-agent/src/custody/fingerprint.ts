import { createHash } from 'node:crypto';
import { canonicalJson } from '@medfed/proto/audit/index';

/** What one site asks the others to pin: its id and the RFC 7638 thumbprints of its two custody keys. */
export interface SitePin {
  readonly siteId: string;
  readonly stewardKeyThumbprint: string;
  readonly keyAgreementKeyThumbprint: string;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'; // RFC 4648, section 6
const GROUPS = 8;
const GROUP_LENGTH = 4;

/** RFC 4648 base32 without padding. */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(buffer >>> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * A site's pins in a form two stewards can read to each other over the phone: SHA-256 of the
 * RFC 8785 canonical JSON of {siteId, stewardKeyThumbprint, keyAgreementKeyThumbprint}, its first
 * 160 bits in base32 as 8 groups of 4 characters joined by `-` (e.g. `MFRG-GZDF-...`).
 */
export function pinFingerprint(pin: SitePin): string {
  const digest = createHash('sha256')
    .update(canonicalJson({ siteId: pin.siteId, stewardKeyThumbprint: pin.stewardKeyThumbprint, keyAgreementKeyThumbprint: pin.keyAgreementKeyThumbprint }))
    .digest();
  const text = base32(digest).slice(0, GROUPS * GROUP_LENGTH);
  return text.match(new RegExp(`.{${GROUP_LENGTH}}`, 'g'))!.join('-');
}
