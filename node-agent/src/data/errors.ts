import { MedfedError, GrpcStatus, type ErrorTable } from '@medfed/proto';

/**
 * Refusals of the local data pipeline. Messages name files, lines, columns and what to fix; they
 * never carry identifier values, and carry other cell values only where noted.
 */
export const DATA_ERRORS = {
  DATA_FILE_UNREADABLE: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The data or schema file cannot be read.',
  },
  DATA_CSV_MALFORMED: {
    http: 422,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The CSV file is not well formed (wrong field count, unterminated quote, stray quote, empty header name).',
  },
  DATA_EMPTY: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The CSV file has no header or no data rows.',
  },
  DATA_HEADER_DUPLICATE: {
    http: 422,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'Two CSV columns have the same name.',
  },
  DATA_LABEL_MISSING: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The label column is not named or not present in the CSV file.',
  },
  DATA_SCHEMA_INVALID: {
    http: 422,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'The schema file is not valid, or does not fit the CSV header.',
  },
  DATA_VALUE_INVALID: {
    http: 422,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'A cell does not parse as its column\'s declared type. No longer raised: such a cell is read as missing and its row dropped (see DATA_TOO_MANY_DROPPED).',
  },
  DATA_SCHEMA_MISMATCH: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The site\'s data does not fit the job: a required feature is missing or not numeric (a text feature such as sex M/F must be exported as 0/1 columns), or a label is outside the job\'s classes.',
  },
  DATA_NO_USABLE_ROWS: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'No row has the label and every job feature present.',
  },
  DATA_TOO_MANY_DROPPED: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'More of the site\'s rows miss the label or a job feature (empty, or a value that does not parse) than the site accepts (data.maxDroppedShare, default 5%); the message names the first rows, columns and values.',
  },
  DATA_STANDARDIZATION_INVALID: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'Standardisation statistics are missing, of the wrong length, or not finite.',
  },
} as const satisfies ErrorTable;

export type DataErrorCode = keyof typeof DATA_ERRORS;

export class DataError extends MedfedError<DataErrorCode> {}
