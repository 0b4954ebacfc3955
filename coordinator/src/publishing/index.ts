export { PUBLISHING_ERRORS, PublishingError, type PublishingErrorCode } from './errors.js';
export { PUBLISHED_KINDS, MODEL_KINDS } from './artifact-kinds.js';
export { buildManifest, plaintextLayoutDigest } from './build-manifest.js';
export { ensureManifestKeys, ensureLogKey, type ManifestKeys } from './keys.js';
export { ModelPublisher, type ModelPublisherOptions, type PublishedManifest } from './publisher.js';
export { downloadEvidence, type DownloadEvidence } from './download-evidence.js';
export { registerWitnessKey, acceptCosignature } from './witness-keys.js';
export { auditTlogEvidence, auditTlogVerifier, type AuditCheckpointsJson, type AuditProofsJson } from './audit-evidence.js';
export { startPublishing } from './start-publishing.js';
