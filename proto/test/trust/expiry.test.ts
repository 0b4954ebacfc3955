import { describe, expect, it } from '@jest/globals';
import { createDevCa, issueServerCertificate } from '../../../coordinator/src/keys/dev-ca.js';
import { certificateExpiry, describeExpiry, expiryWarningDays, pemCertificates, pemExpiries } from '../../src/trust/index.js';

const NOW = new Date('2026-03-01T00:00:00Z');
const DAY = 86_400_000;

describe('certificate expiry against a warning threshold', () => {
  const ca = createDevCa({ now: NOW, days: 365 });
  const leaf = issueServerCertificate(ca, ['localhost'], { now: NOW, days: 10 });

  it('gives notAfter, whole days left and whether it is within the threshold', () => {
    const [cert] = pemCertificates(leaf.certPem);
    const s = certificateExpiry('tls-server', cert!, { now: NOW });
    expect(s).toEqual({ name: 'tls-server', notAfter: new Date(NOW.getTime() + 10 * DAY).toISOString(), daysLeft: 10, warning: true });
    expect(certificateExpiry('tls-server', cert!, { now: NOW, warningDays: 7 }).warning).toBe(false);
    expect(describeExpiry(s)).toBe(`certificate tls-server expires on ${s.notAfter} (in 10 days)`);
  });

  it('reports an expired certificate with negative days', () => {
    const [cert] = pemCertificates(leaf.certPem);
    const s = certificateExpiry('tls-server', cert!, { now: new Date(NOW.getTime() + 11 * DAY) });
    expect(s).toMatchObject({ daysLeft: -1, warning: true });
    expect(describeExpiry(s)).toContain('EXPIRED');
  });

  it('names every certificate of a PEM file', () => {
    const statuses = pemExpiries('ca', leaf.certPem + ca.certPem, { now: NOW });
    expect(statuses.map((s) => [s.name, s.warning])).toEqual([['ca', true], ['ca-2', false]]);
  });

  it('takes the threshold from MEDFED_EXPIRY_WARNING_DAYS, 30 by default, and refuses nonsense', () => {
    expect(expiryWarningDays({})).toBe(30);
    expect(expiryWarningDays({ MEDFED_EXPIRY_WARNING_DAYS: '45' })).toBe(45);
    expect(() => expiryWarningDays({ MEDFED_EXPIRY_WARNING_DAYS: 'soon' })).toThrow(/MEDFED_EXPIRY_WARNING_DAYS/);
  });
});
