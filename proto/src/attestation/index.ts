export { ATTESTATION_ERRORS, AttestationError, type AttestationErrorCode } from './errors.js';
export {
  ATTESTATION_TYP,
  ATTESTATION_VERSION,
  ATTESTER_KINDS,
  IMPLEMENTED_ATTESTER_KINDS,
  SOFTWARE_ATTESTATION_NOTICE,
  ATTESTATION_MAX_LIFETIME_SECONDS,
  ATTESTATION_DEFAULT_TTL_SECONDS,
  ATTESTATION_MAX_BYTES,
  type AttesterKind,
  type AttestationStatement,
  type AttestationClaims,
} from './claims.js';
export { validateAttestationClaims, validateAttestationStatement, attestationClaimsProblems, ATTESTATION_NONCE_PATTERN } from './validate-claims.js';
export { trainerBuildDigest, trainerBundleListing, sandboxPolicyDigest, TRAINER_BUNDLE_HEADER, type TrainerBundleEntry } from './digests.js';
export type { Attester } from './attester.js';
export {
  generateAttestationKey,
  publicAttestationJwk,
  parseAttestationPublicJwk,
  parseAttestationPrivateJwk,
  attestationKeyThumbprint,
  loadOrCreateAttestationKey,
  type AttestationPublicJwk,
  type AttestationPrivateJwk,
  type AttestationKeyFileOptions,
} from './attestation-key.js';
export { createSoftwareAttester, type SoftwareAttesterOptions } from './software-attester.js';
export { verifyAttestationSignature, type VerifiedAttestationSignature } from './verify-attestation-jws.js';
export { keyReleasePurposeDigest, keyReleaseStatement, KEY_RELEASE_PURPOSE_PREFIX } from './key-release-purpose.js';
