import { describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createDevCa, issueServerCertificate } from '../../src/keys/dev-ca.js';
import { CertificateExpiry, servedCertificates } from '../../src/keys/expiry.js';

const DAY = 86_400_000;
const NOW = new Date('2026-03-01T00:00:00Z');

/** A logger whose lines are collected as parsed JSON. */
function capture(): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { lines, log: pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) }) };
}

describe('certificate expiry at the coordinator', () => {
  const ca = createDevCa({ now: NOW, days: 365 });
  const server = issueServerCertificate(ca, ['localhost'], { now: NOW, days: 10 });
  const tls = (cert: string, caPem: string | null) => ({ cert: Buffer.from(cert), key: Buffer.from(server.keyPem), ca: caPem ? Buffer.from(caPem) : null, requireClientCert: false });

  it('watches the served certificate and the CA that issued it, from the chain or from tls.ca', () => {
    expect(servedCertificates(null)).toEqual([]);
    expect(servedCertificates(tls(server.certPem + ca.certPem, null)).map((c) => c.name)).toEqual(['tls-server', 'ca']);
    expect(servedCertificates(tls(server.certPem, ca.certPem)).map((c) => c.name)).toEqual(['tls-server', 'ca']);
    // A CA that did not issue it is not reported as its CA.
    expect(servedCertificates(tls(server.certPem, createDevCa({ now: NOW }).certPem)).map((c) => c.name)).toEqual(['tls-server']);
  });

  it('logs a warning at start for a certificate within the threshold and none for the others; a later check warns for each again', () => {
    const { log, lines } = capture();
    let now = NOW;
    const expiry = new CertificateExpiry(servedCertificates(tls(server.certPem + ca.certPem, null)), { log, warningDays: 30, intervalMs: 1_000_000, now: () => now });
    expiry.start();
    try {
      expect(lines).toEqual([expect.objectContaining({ level: 40, certificate: 'tls-server', daysLeft: 10, warningDays: 30 })]);
      expect(lines[0]!.msg).toContain('certificate tls-server expires on 2026-03-11T00:00:00.000Z (in 10 days)');
      now = new Date(NOW.getTime() + 360 * DAY);
      expect(expiry.check().map((s) => s.name)).toEqual(['tls-server', 'ca']);
      expect(lines.at(-2)!.msg).toContain('tls-server EXPIRED');
    } finally {
      expiry.stop();
    }
  });

  it('answers the statuses and exposes notAfter as a gauge per certificate', async () => {
    const { log } = capture();
    const expiry = new CertificateExpiry(servedCertificates(tls(server.certPem + ca.certPem, null)), { log, warningDays: 7, now: () => NOW });
    expect(expiry.statuses()).toEqual([
      { name: 'tls-server', notAfter: '2026-03-11T00:00:00.000Z', daysLeft: 10, warning: false },
      { name: 'ca', notAfter: '2027-03-01T00:00:00.000Z', daysLeft: 365, warning: false },
    ]);
    const registry = new Registry();
    expiry.register(registry);
    const text = await registry.metrics();
    expect(text).toContain(`medfed_certificate_expiry_timestamp_seconds{certificate="tls-server"} ${Date.parse('2026-03-11T00:00:00Z') / 1000}`);
    expect(text).toContain(`medfed_certificate_expiry_timestamp_seconds{certificate="ca"} ${Date.parse('2027-03-01T00:00:00Z') / 1000}`);
  });

  it('refuses a threshold that is not a number of days', () => {
    const previous = process.env.MEDFED_EXPIRY_WARNING_DAYS;
    process.env.MEDFED_EXPIRY_WARNING_DAYS = 'soon';
    try {
      expect(() => new CertificateExpiry([], { log: capture().log })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    } finally {
      if (previous === undefined) delete process.env.MEDFED_EXPIRY_WARNING_DAYS;
      else process.env.MEDFED_EXPIRY_WARNING_DAYS = previous;
    }
  });
});
