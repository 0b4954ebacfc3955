export { PRIVACY_ERRORS, PrivacyError, type PrivacyErrorCode } from './errors.js';
export * from './accountant/index.js';
export * from './noise/index.js';
export * from './ledger/index.js';
