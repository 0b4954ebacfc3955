import { GrpcStatus, MedfedError, type ErrorTable } from '@medfed/proto';

/** Every refusal of the masking layer. Messages name fields and counts, never a record's values. */
export const MASKING_ERRORS = {
  MASK_DIRECT_IDENTIFIER: {
    http: 403,
    grpc: GrpcStatus.PERMISSION_DENIED,
    summary: 'The request would reveal a direct identifier (or use one as a training feature) to a role that may not see it.',
  },
  MASK_QUASI_IDENTIFIER_COMBINATION: {
    http: 403,
    grpc: GrpcStatus.PERMISSION_DENIED,
    summary: 'The request would reveal an exact combination of quasi-identifiers (a restricted one such as a date, ZIP or age together with another).',
  },
  MASK_SMALL_CELL: {
    http: 403,
    grpc: GrpcStatus.PERMISSION_DENIED,
    summary: "The result would describe fewer patients than the site's minimum cell size.",
  },
  MASK_FIELD_NOT_VISIBLE: {
    http: 403,
    grpc: GrpcStatus.PERMISSION_DENIED,
    summary: 'The query uses a field that is redacted or not released to this role.',
  },
  MASK_FOREIGN_SITE: {
    http: 403,
    grpc: GrpcStatus.PERMISSION_DENIED,
    summary: "A clinician asked for patients of a site other than the clinician's own.",
  },
  MASK_CARE_TEAM_UNRESOLVABLE: {
    http: 403,
    grpc: GrpcStatus.PERMISSION_DENIED,
    summary: "A clinician's request names the clinician, but the schema declares no careTeamField to find the clinician's own patients by.",
  },
  MASK_UNKNOWN_ROLE: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The role is not one of clinician, researcher, auditor, training, site-steward.',
  },
  MASK_UNKNOWN_FIELD: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The query or request names a field that the dataset schema does not have.',
  },
  MASK_INVALID_SCHEMA: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The dataset schema is not valid (fields need a name, a type and a sensitivity class).',
  },
  MASK_INVALID_POLICY: {
    http: 500,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: "The site's masking policy is unreadable or not valid.",
  },
  MASK_INVALID_CSV: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The data file is not a CSV with a header row and rows of equal length.',
  },
  MASK_STUDY_REQUIRED: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'Pseudonymised output needs a study id (pseudonyms are per study).',
  },
  MASK_FEATURES_REQUIRED: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: "The training role needs the job's approved feature list.",
  },
  MASK_KEY_PERMISSIONS: {
    http: 500,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The pseudonymisation key file is readable or writable by others (must be mode 0600, owned by the agent), or is not a regular file.',
  },
  MASK_KEY_INVALID: {
    http: 500,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The pseudonymisation key is missing or not 32 bytes of hex.',
  },
  MASK_NOISE_UNCONFIGURED: {
    http: 500,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'A noise transform lacks its mechanism parameters (epsilon, bounds) or targets a non-numeric field.',
  },
  MASK_NOISE_NEEDS_LEDGER: {
    http: 500,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'Noise was to be applied without a privacy-budget ledger to charge.',
  },
  MASK_OPT_OUT_UNRESOLVABLE: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'Patients have opted out but the schema names no patient id field to match them by.',
  },
} as const satisfies ErrorTable;

export type MaskingErrorCode = keyof typeof MASKING_ERRORS;

export class MaskingError extends MedfedError<MaskingErrorCode> {}
