export { AUDIT_BUNDLE_FORMAT, AUDIT_BUNDLE_FILES, type AuditBundleFileName } from './layout.js';
export { parseBundleManifest, type BundleManifest } from './manifest.js';
export { verifyCompactJws, parseJwks, AUDIT_JWS_ALGORITHMS, type JwsSigner } from './jws.js';
export { packTarGz, readTarGz } from './tar.js';
export { auditCsvHeader, auditCsvRow, AUDIT_CSV_COLUMNS } from './csv.js';
export { verifyAuditBundle, type BundleVerifyOptions, type BundleVerifyReport } from './verify-bundle.js';
export { readAuditBundle, type ReadBundle, type BundleFile } from './read-bundle.js';
export type { CheckState } from './check-bundle.js';
export { signerFromPrivateJwk, throwawaySigner, type LocalSigner } from './local-signer.js';
