import { GrpcStatus, MedfedError, type ErrorTable } from '@medfed/proto';

/** Every refusal the supply-chain gate can raise. An input that raises one of these is a `stop`. */
export const GATE_ERRORS = {
  GATE_POLICY_UNREADABLE: {
    http: 500,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The gate policy file could not be read.',
  },
  GATE_POLICY_INVALID: {
    http: 500,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The gate policy is not valid YAML or does not match the policy schema.',
  },
  GATE_ENV_INVALID: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The target environment is not one of dev, staging, prod, or the policy has no rules for it.',
  },
  GATE_INPUT_UNREADABLE: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'An input file (artifact, report, SBOM, signature or key) could not be read.',
  },
  GATE_ARTIFACT_INVALID: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The artifact is not a readable directory or tar archive, or its OCI layout is inconsistent.',
  },
  GATE_ARTIFACT_UNSUPPORTED_ENTRY: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The artifact directory holds an entry that has no defined digest (symbolic link, device, socket, unsafe name).',
  },
  GATE_DIGEST_INVALID: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'A digest is not of the form sha256:<64 lowercase hex digits>.',
  },
  GATE_VULN_REPORT_INVALID: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The vulnerability report is not Trivy JSON (schema 2), Grype JSON or npm audit JSON.',
  },
  GATE_VULN_REPORT_DIGEST_MISMATCH: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The vulnerability report was made for a different artifact digest.',
  },
  GATE_SBOM_INVALID: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The SBOM is not CycloneDX JSON or holds an unparseable license expression.',
  },
  GATE_SIGNATURE_MALFORMED: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The signature file is not base64 of a signature.',
  },
  GATE_KEY_INVALID: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'A trusted key is not a PEM SPKI public key of a supported type (Ed25519, ECDSA P-256, ECDSA P-384).',
  },
  GATE_USAGE: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The gate command was called with missing or invalid options.',
  },
} as const satisfies ErrorTable;

export type GateErrorCode = keyof typeof GATE_ERRORS;

export class GateError extends MedfedError<GateErrorCode> {}
