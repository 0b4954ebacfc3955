export { BUNDLE_ERRORS, BundleError, type BundleErrorCode } from './errors.js';
export { BUNDLE_FILES, MAX_BUNDLE_TEXT_BYTES, MAX_MODEL_BYTES } from './files.js';
export { parseInclusionProof, inclusionProofToJson, type InclusionProof, type InclusionProofJson } from './inclusion-proof.js';
export { verifyModelArtifact, type VerifyModelArtifactInput, type VerifiedModelArtifact, type ExpectedArtifact } from './verify-model-artifact.js';
export { writeModelBundle, type ModelBundleParts } from './write-model-bundle.js';
export { verifyModelBundle, type VerifyModelBundleOptions, type VerifiedModelBundle } from './verify-model-bundle.js';
