import { createHash, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import {
  bitString, boolean, explicit, implicitPrimitive, objectIdentifier, octetString, sequence, set, smallInteger, time,
  unsignedInteger, utf8String,
} from './der.js';

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

export interface CertificateRequest {
  readonly subject: { readonly commonName: string; readonly organization?: string };
  readonly subjectKey: KeyObject;
  readonly issuer: { readonly commonName: string; readonly organization?: string };
  readonly issuerKey: KeyObject;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly ca: boolean;
  /** DNS names and IP addresses for subjectAltName (leaf certificates). */
  readonly hosts?: readonly string[];
}

function name(n: { commonName: string; organization?: string }): Buffer {
  const rdn = (oid: string, value: string) => set(sequence(objectIdentifier(oid), utf8String(value)));
  return sequence(...(n.organization ? [rdn(OID.organization, n.organization)] : []), rdn(OID.commonName, n.commonName));
}

function extension(oid: string, critical: boolean, value: Uint8Array): Buffer {
  return sequence(objectIdentifier(oid), ...(critical ? [boolean(true)] : []), octetString(value));
}

/** A key identifier: the first 20 bytes of SHA-256 over the SubjectPublicKeyInfo (RFC 7093 §2 method 1 style). */
export function keyIdentifier(key: KeyObject): Buffer {
  const spki = (key.type === 'private' ? createPublicKey(key) : key).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest().subarray(0, 20);
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  const missing = 8 - groups(head).length - groups(tail).length;
  const all = [...groups(head), ...(tail !== undefined ? Array(missing).fill('0') : []), ...groups(tail)];
  return Buffer.concat(all.map((g) => Buffer.from([parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff])));
}

/** Builds and signs an X.509 v3 certificate (ECDSA P-256 with SHA-256); returns PEM. */
export function createCertificate(req: CertificateRequest): string {
  const spki = createPublicKey(req.subjectKey).export({ type: 'spki', format: 'der' });
  const algorithm = sequence(objectIdentifier(OID.ecdsaWithSha256));
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  const extensions = [
    req.ca
      ? extension(OID.basicConstraints, true, sequence(boolean(true), smallInteger(0)))
      : extension(OID.basicConstraints, true, sequence()),
    // digitalSignature (bit 0), plus keyCertSign (5) and cRLSign (6) for a CA.
    extension(OID.keyUsage, true, req.ca ? bitString(Buffer.from([0x86]), 1) : bitString(Buffer.from([0x80]), 7)),
    extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier(req.subjectKey))),
    extension(OID.authorityKeyIdentifier, false, sequence(implicitPrimitive(0, keyIdentifier(req.issuerKey)))),
  ];
  if (!req.ca) {
    extensions.push(extension(OID.extKeyUsage, false, sequence(objectIdentifier(OID.serverAuth), objectIdentifier(OID.clientAuth))));
    const names = (req.hosts ?? []).map((h) => (isIP(h) ? implicitPrimitive(7, ipBytes(h)) : implicitPrimitive(2, Buffer.from(h, 'ascii'))));
    if (names.length > 0) extensions.push(extension(OID.subjectAltName, false, sequence(...names)));
  }
  const tbs = sequence(
    explicit(0, smallInteger(2)),
    unsignedInteger(serial),
    algorithm,
    name(req.issuer),
    sequence(time(req.notBefore), time(req.notAfter)),
    name(req.subject),
    spki,
    explicit(3, sequence(...extensions)),
  );
  const signature = sign('sha256', tbs, req.issuerKey);
  const der = sequence(tbs, algorithm, bitString(signature));
  const body = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}
