import * as grpc from '@grpc/grpc-js';
import { toPublicErrorWithAuth } from '../public-error.js';

/** A gRPC status carrying the stable code as the `medfed-code` trailer and the message prefix. */
export function refusalStatus(err: unknown): grpc.StatusObject {
  const p = toPublicErrorWithAuth(err);
  const metadata = new grpc.Metadata();
  metadata.set('medfed-code', p.code);
  return { code: p.grpc as grpc.status, details: `${p.code}: ${p.message}`, metadata };
}

/** The same refusal as a ServiceError, for handlers' callbacks. */
export function refusalError(err: unknown): grpc.ServiceError {
  const s = refusalStatus(err);
  return Object.assign(new Error(s.details), s);
}
