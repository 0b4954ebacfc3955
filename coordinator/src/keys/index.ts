export type { TokenSigningKey, SigningKeyStore, PublishedJwk } from './signing-key.js';
export { FileSigningKeyStore } from './file-signing-key-store.js';
export { TokenKeyRing, type KeyRingOptions } from './key-ring.js';
export { createDevCa, issueServerCertificate, writeDevCa, type PemPair, type DevCaFiles } from './dev-ca.js';
export { createCertificate, type CertificateRequest } from './x509/create-certificate.js';
export { loadTlsMaterial, type TlsSettings, type TlsMaterial } from './tls-files.js';
