import { GrpcStatus, MedfedError, type ErrorTable } from '@medfed/proto';

/** Refusals caused by the database itself, not by the request: retryable, with their own codes. */
export const STORAGE_ERRORS = {
  DATABASE_UNAVAILABLE: {
    http: 503, grpc: GrpcStatus.UNAVAILABLE,
    summary: 'The coordinator cannot reach its database right now; retry later (nothing was changed).',
  },
  NOT_LEADER: {
    http: 503, grpc: GrpcStatus.UNAVAILABLE,
    summary: 'This coordinator replica is a standby (or lost its leader lease); retry, or call the leader named in the medfed-leader header.',
  },
} as const satisfies ErrorTable;

export type StorageErrorCode = keyof typeof STORAGE_ERRORS;

export class StorageError extends MedfedError<StorageErrorCode> {}

/** SQLSTATE classes and codes that mean "the server went away", not "the statement was wrong". */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTCONN', 'ENOTFOUND', 'EAI_AGAIN']);
const UNAVAILABLE_MESSAGES = [
  'Connection terminated', 'connection timeout', 'timeout exceeded when trying to connect', 'Client has encountered a connection error',
  'Query read timeout', 'Client was closed and is not queryable', 'Connection closed', 'the database system is',
];

/** Whether `err` (from `pg`) means the database is unreachable or restarting, as opposed to a refused statement. */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof AggregateError) return err.errors.some(isDatabaseUnavailable);
  if (err instanceof MedfedError) return err.code === 'DATABASE_UNAVAILABLE' || err.code === 'BLOB_STORE_UNAVAILABLE';
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (typeof e.code === 'string' && (e.code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(e.code) || UNAVAILABLE_ERRNOS.has(e.code))) return true;
  const message = typeof e.message === 'string' ? e.message : '';
  return UNAVAILABLE_MESSAGES.some((m) => message.includes(m));
}

/**
 * Whether `err` says "the storage is away for now" (unreachable, or this replica lost its lease):
 * background work stops its pass and retries later instead of reporting a failure.
 */
export function isRetryLater(err: unknown): boolean {
  return isDatabaseUnavailable(err) || (err as { code?: unknown } | null)?.code === 'NOT_LEADER';
}

/** The error to throw for a failed database call: unavailability gets its retryable code, anything else passes through. */
export function classifyDatabaseError(err: unknown): unknown {
  if (err instanceof MedfedError || !isDatabaseUnavailable(err)) return err;
  return new StorageError('DATABASE_UNAVAILABLE', `the database is unreachable: ${(err as Error).message}`, undefined, { cause: err });
}
