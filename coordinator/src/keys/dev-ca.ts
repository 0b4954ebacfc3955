import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCertificate } from './x509/create-certificate.js';

export interface PemPair {
  readonly certPem: string;
  readonly keyPem: string;
}

const DAY_MS = 86_400_000;

function p256(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

function pem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** A local certificate authority for development and the demo (P-256, valid `days`). Never for production. */
export function createDevCa(options: { commonName?: string; days?: number; now?: Date } = {}): PemPair {
  const key = p256();
  const now = options.now ?? new Date();
  const subject = { commonName: options.commonName ?? 'medfed development CA', organization: 'medfed (development only)' };
  return {
    certPem: createCertificate({
      subject, subjectKey: key, issuer: subject, issuerKey: key, ca: true,
      notBefore: new Date(now.getTime() - 3_600_000), notAfter: new Date(now.getTime() + (options.days ?? 365) * DAY_MS),
    }),
    keyPem: pem(key),
  };
}

/** A TLS server certificate for `hosts` (DNS names and IP addresses), signed by the development CA. */
export function issueServerCertificate(ca: PemPair, hosts: readonly string[], options: { days?: number; now?: Date; caCommonName?: string } = {}): PemPair {
  const key = p256();
  const now = options.now ?? new Date();
  return {
    certPem: createCertificate({
      subject: { commonName: hosts[0] ?? 'localhost' }, subjectKey: key,
      issuer: { commonName: options.caCommonName ?? 'medfed development CA', organization: 'medfed (development only)' },
      issuerKey: createPrivateKey(ca.keyPem), ca: false, hosts,
      notBefore: new Date(now.getTime() - 3_600_000), notAfter: new Date(now.getTime() + (options.days ?? 90) * DAY_MS),
    }),
    keyPem: pem(key),
  };
}

export interface DevCaFiles {
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
}

/** Writes a CA and a server certificate for `hosts` under `dir`; private keys get mode 0600. */
export async function writeDevCa(dir: string, hosts: readonly string[], options: { days?: number } = {}): Promise<DevCaFiles> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ca = createDevCa({ days: Math.max(365, options.days ?? 0) });
  const server = issueServerCertificate(ca, hosts, options);
  const files: DevCaFiles = {
    caCert: join(dir, 'ca.pem'), caKey: join(dir, 'ca-key.pem'), serverCert: join(dir, 'server.pem'), serverKey: join(dir, 'server-key.pem'),
  };
  await writeFile(files.caCert, ca.certPem, { mode: 0o644 });
  await writeFile(files.caKey, ca.keyPem, { mode: 0o600 });
  await writeFile(files.serverCert, server.certPem + ca.certPem, { mode: 0o644 });
  await writeFile(files.serverKey, server.keyPem, { mode: 0o600 });
  await chmod(files.caKey, 0o600);
  await chmod(files.serverKey, 0o600);
  return files;
}
