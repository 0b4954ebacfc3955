export { TRUST_ERRORS, TrustError, type TrustErrorCode } from './errors.js';
export { expectedArtifact, type ExpectedDownload, type ChainKind } from './expected.js';
export { loadTrustAnchors, type TrustAnchors, type TrustSettings } from './trust-anchors.js';
export { loadVerifierState, loadOrCreateWitnessKey, REFUSED_CHECKPOINT_FILE, type VerifierState } from './verifier-state.js';
export { ModelVerifier, type ModelVerifierOptions } from './model-verifier.js';
export { createModelVerifier, type CreateVerifierOptions } from './create-verifier.js';
export { ModelGate, type ModelGateSettings, type GatedModel } from './model-gate.js';
export { awaitCosignatures, DEFAULT_COSIGNATURE_WAIT_MS, type CosignatureWaitLog, type CosignatureWaitOptions } from './await-cosignatures.js';
export {
  planReanchor, applyReanchor, readReanchorRecords, viewOfNote, REANCHOR_LOG_FILE, REANCHOR_RECORD_FORMAT,
  type LogView, type ReanchorPlan, type ReanchorRecord, type ViewRelation,
} from './reanchor.js';
