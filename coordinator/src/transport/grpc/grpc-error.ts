import * as grpc from '@grpc/grpc-js';
import { toPublicError } from '../errors.js';

/** Any error as a gRPC status with the stable medfed code in the details and the `medfed-code` trailer. */
export function grpcError(err: unknown): grpc.ServiceError {
  const p = toPublicError(err);
  const metadata = new grpc.Metadata();
  metadata.set('medfed-code', p.code);
  return Object.assign(new Error(`${p.code}: ${p.message}`), { code: p.grpc, details: `${p.code}: ${p.message}`, metadata });
}
