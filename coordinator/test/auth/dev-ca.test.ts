import { describe, expect, it } from '@jest/globals';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDevCa, issueServerCertificate, writeDevCa } from '../../src/keys/dev-ca.js';

describe('the development CA (X.509 built with node:crypto and a small DER writer)', () => {
  it('makes a CA certificate that is a CA, and a server certificate it signs for the given names', () => {
    const ca = createDevCa();
    const server = issueServerCertificate(ca, ['localhost', '127.0.0.1', '::1', 'coordinator.example']);
    const caCert = new X509Certificate(ca.certPem);
    const cert = new X509Certificate(server.certPem);
    expect(caCert.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(caCert.verify(caCert.publicKey)).toBe(true);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.checkHost('coordinator.example')).toBe('coordinator.example');
    expect(cert.checkHost('evil.example')).toBeUndefined();
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkIP('::1')).toBe('::1');
    expect(cert.checkIP('10.0.0.1')).toBeUndefined();
    expect(cert.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:coordinator.example');
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(createPrivateKey(server.keyPem).asymmetricKeyType).toBe('ec');
    // Another CA's certificate does not verify under this one.
    expect(new X509Certificate(issueServerCertificate(createDevCa(), ['localhost']).certPem).verify(caCert.publicKey)).toBe(false);
  });

  it('writes private keys with mode 0600', async () => {
    const files = await writeDevCa(await mkdtemp(join(tmpdir(), 'medfed-ca-')), ['localhost']);
    expect((await stat(files.caKey)).mode & 0o777).toBe(0o600);
    expect((await stat(files.serverKey)).mode & 0o777).toBe(0o600);
    expect((await stat(files.caCert)).mode & 0o777).toBe(0o644);
  });
});
