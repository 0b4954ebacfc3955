export { ATTESTATION_POLICY_ERRORS, AttestationVerificationError, type AttestationPolicyErrorCode } from './errors.js';
export { DEFAULT_NONCE_TTL_MS, NONCE_PURPOSES, type NonceStore, type NonceScope, type NoncePurpose, type IssuedNonce, type NonceVerdict } from './nonce-store.js';
export { MemoryNonceStore } from './memory-nonce-store.js';
export { SqlNonceStore } from './sql-nonce-store.js';
export {
  verifyAttestation,
  type VerifyAttestationOptions,
  type VerifiedAttestation,
  type ExpectedAttestation,
  type AttestationEnv,
} from './verify-attestation.js';
export { attestationVerdictDetails } from './verdict-details.js';
export { KeyReleaseGate, type KeyReleaseGateOptions, type KeyReleaseVerdict, type IssuedKeyReleaseNonce } from './key-release.js';
