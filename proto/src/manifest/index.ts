export { MANIFEST_ERRORS, ManifestError, type ManifestErrorCode } from './errors.js';
export {
  MANIFEST_TYP,
  MANIFEST_VERSION,
  ARTIFACT_KINDS,
  MODEL_ARTIFACT_KINDS,
  type ArtifactKind,
  type Manifest,
  type ManifestBlob,
  type ManifestContributor,
} from './manifest.js';
export { validateManifest, manifestProblems } from './validate-manifest.js';
export { parseJwks, findJwk, type ManifestJwks, type ManifestPublicJwk } from './jwks.js';
export { ed25519Signer, generateManifestKeyPair, loadManifestSigner, type Signer, type ManifestKeyPair } from './signer.js';
export { signManifest } from './sign-manifest.js';
export { verifyManifest, type VerifiedManifest } from './verify-manifest.js';
