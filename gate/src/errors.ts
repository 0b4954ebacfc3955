import { GrpcStatus, MedfedError, type ErrorTable } from '@medfed/proto';

/**
 * Every refusal the supply-chain gate can raise. An input that raises one of these is a `stop`,
 * except that the three "could not inspect" codes (GATE_CONTENT_UNSCANNED, GATE_ARCHIVE_NESTING_LIMIT,
 * GATE_ARCHIVE_EXPANSION_LIMIT) are warnings in dev.
 */
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
  GATE_CONTENT_UNSCANNED: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'Part of the artifact could not be scanned (a text file over the size cap, an archive format the gate does not open, a corrupt nested archive); staging and prod stop on it.',
  },
  GATE_ARCHIVE_NESTING_LIMIT: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The artifact nests archives deeper than the policy\'s max_archive_depth; the innermost was not opened.',
  },
  GATE_ARCHIVE_EXPANSION_LIMIT: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'Decompressing part of the artifact exceeded the policy\'s max_expansion_ratio or max_expanded_bytes (a compression bomb); the scan of it stopped.',
  },
  GATE_ARCHIVE_PATH_TRAVERSAL: {
    http: 422,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'An archive entry name holds a `..` segment, so unpacking it would write outside the target directory.',
  },
  GATE_ARCHIVE_ABSOLUTE_PATH: {
    http: 422,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'An archive entry name is an absolute path.',
  },
  GATE_ARCHIVE_LINK_ESCAPE: {
    http: 422,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'A symbolic or hard link in an archive points outside the archive (absolute target, or `..` above its root).',
  },
  GATE_ARCHIVE_SPECIAL_FILE: {
    http: 422,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'An archive holds a character device, block device or FIFO.',
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
  GATE_VULN_REPORT_INCONSISTENT: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The report\'s own totals (npm audit metadata.vulnerabilities) count more critical or high vulnerabilities than the gate could read from it.',
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
