import { AUTH_ERRORS } from '@medfed/proto/auth/index';
import { MedfedError } from '@medfed/proto';
import { toPublicError, type PublicError } from '../transport/errors.js';

/**
 * Maps anything thrown to its public form, knowing the AUTH_* codes. (Once AUTH_ERRORS is part of the
 * coordinator's ERROR_TABLE, this is plain toPublicError.)
 */
export function toPublicErrorWithAuth(err: unknown): PublicError {
  if (err instanceof MedfedError && Object.hasOwn(AUTH_ERRORS, err.code)) {
    const spec = AUTH_ERRORS[err.code as keyof typeof AUTH_ERRORS];
    return { code: err.code, message: err.message, http: spec.http, grpc: spec.grpc };
  }
  return toPublicError(err);
}
