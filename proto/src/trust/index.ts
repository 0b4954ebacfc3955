export { TRUST_BUNDLE_ERRORS, TrustBundleError, type TrustBundleErrorCode } from './errors.js';
export {
  TRUST_BUNDLE_FILES, TRUST_BUNDLE_FORMAT, TRUST_FILE_ROLES, TRUST_MANIFEST_FILE, MAX_TRUST_FILE_BYTES, parseTrustManifest, parseCoordinatorIdentity,
  type CoordinatorIdentity, type TrustBundleManifest, type TrustFileEntry, type TrustFileRole,
} from './bundle-format.js';
export { base32, BASE32_ALPHABET } from './base32.js';
export { canonicalTrustManifest, trustFingerprint, spokenFingerprint, parseFingerprint, FINGERPRINT_SEPARATOR } from './fingerprint.js';
export { validateTrustFile } from './validate-files.js';
export { readTrustBundle, type TrustBundle, type ReadTrustBundleOptions } from './read-trust-bundle.js';
export { writeTrustBundle, type TrustBundleContents } from './write-trust-bundle.js';
export {
  certificateExpiry, pemCertificates, pemExpiries, expiryWarningDays, describeExpiry, DEFAULT_EXPIRY_WARNING_DAYS, EXPIRY_WARNING_DAYS_ENV,
  type ExpiryStatus, type ExpiryOptions,
} from './expiry.js';
