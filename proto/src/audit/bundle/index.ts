export { AUDIT_BUNDLE_FORMAT, AUDIT_BUNDLE_FILES, type AuditBundleFileName } from './layout.js';
export { parseBundleManifest, type BundleManifest } from './manifest.js';
export { verifyCompactJws, parseJwks, AUDIT_JWS_ALGORITHMS, type JwsSigner } from './jws.js';
export { packTarGz, readTarGz } from './tar.js';
export { auditCsvHeader, auditCsvRow, AUDIT_CSV_COLUMNS } from './csv.js';
export { verifyAuditBundle, type BundleVerifyOptions, type BundleVerifyReport, type CheckState } from './verify-bundle.js';
