import { describe, expect, it } from '@jest/globals';
import { base32 } from '@medfed/proto/trust/index';
import { pinFingerprint } from '../../src/custody/fingerprint.js';

const pin = { siteId: 'site-a', stewardKeyThumbprint: 'S'.repeat(43), keyAgreementKeyThumbprint: 'K'.repeat(43) };

describe('site pin fingerprint', () => {
  it('encodes base32 as RFC 4648 section 10 does (without padding)', () => {
    const vectors: [string, string][] = [['', ''], ['f', 'MY'], ['fo', 'MZXQ'], ['foo', 'MZXW6'], ['foob', 'MZXW6YQ'], ['fooba', 'MZXW6YTB'], ['foobar', 'MZXW6YTBOI']];
    for (const [text, encoded] of vectors) expect(base32(new TextEncoder().encode(text))).toBe(encoded);
  });

  it('is the first 160 bits of SHA-256 over the RFC 8785 form, as 8 groups of 4 base32 characters', () => {
    // Computed independently: base32(sha256('{"keyAgreementKeyThumbprint":"K…","siteId":"site-a","stewardKeyThumbprint":"S…"}'))[0:32]
    expect(pinFingerprint(pin)).toBe('HWPO-PF4U-XTZ2-6YNY-JI4G-UFAM-SCGS-MSSZ');
    expect(pinFingerprint(pin)).toMatch(/^([A-Z2-7]{4}-){7}[A-Z2-7]{4}$/);
  });

  it('ignores member order and other members, and changes with each pinned value', () => {
    const reordered = { keyAgreementKeyThumbprint: pin.keyAgreementKeyThumbprint, siteId: pin.siteId, stewardKeyThumbprint: pin.stewardKeyThumbprint, source: 'roster' };
    expect(pinFingerprint(reordered)).toBe(pinFingerprint(pin));
    const variants = [{ ...pin, siteId: 'site-b' }, { ...pin, stewardKeyThumbprint: 'T'.repeat(43) }, { ...pin, keyAgreementKeyThumbprint: 'L'.repeat(43) }];
    for (const v of variants) expect(pinFingerprint(v)).not.toBe(pinFingerprint(pin));
  });
});
