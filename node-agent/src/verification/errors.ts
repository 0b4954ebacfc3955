import { GrpcStatus, MedfedError, type ErrorTable } from '@medfed/proto';

/** The agent's verification before load: its trust anchors, its saved log view, the evidence it needs. */
export const TRUST_ERRORS = {
  TRUST_ANCHORS_MISSING: { http: 412, grpc: GrpcStatus.FAILED_PRECONDITION, summary: 'No pinned manifest keys or log key: a production agent loads no model without them' },
  TRUST_ANCHORS_INVALID: { http: 412, grpc: GrpcStatus.FAILED_PRECONDITION, summary: 'The pinned manifest JWKS or log key cannot be read or parsed' },
  TRUST_STATE_INVALID: { http: 500, grpc: GrpcStatus.DATA_LOSS, summary: "The agent's saved checkpoint or witness key is unreadable" },
  TRUST_EVIDENCE_MISSING: { http: 412, grpc: GrpcStatus.FAILED_PRECONDITION, summary: 'The coordinator sent a model without its manifest, checkpoint or inclusion proof' },
  TRUST_PARAMS_MISMATCH: { http: 412, grpc: GrpcStatus.FAILED_PRECONDITION, summary: "A key epoch's public parameters do not match their signed he-public-params manifest or the task's key id, epoch and parameter set" },
  TRUST_EXPECTATION_MISSING: { http: 500, grpc: GrpcStatus.INTERNAL, summary: 'A model download did not say which job and round it must be for' },
  MODEL_GATE_STOPPED: { http: 422, grpc: GrpcStatus.FAILED_PRECONDITION, summary: "The site's gate policy stopped a downloaded model before load (its triggers are listed: a sensitive file, a missing or invalid manifest signature, or another rule of the site's policy)" },
  MODEL_GATE_POLICY_INVALID: { http: 412, grpc: GrpcStatus.FAILED_PRECONDITION, summary: "The agent's model gate policy (gate.policy) cannot be read, has no rules for the gate environment, or a production agent asks for a weaker environment than prod" },
} as const satisfies ErrorTable;

export type TrustErrorCode = keyof typeof TRUST_ERRORS;

export class TrustError extends MedfedError<TrustErrorCode> {}
