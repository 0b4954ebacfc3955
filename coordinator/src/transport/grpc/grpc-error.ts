import * as grpc from '@grpc/grpc-js';
import { MedfedError } from '@medfed/proto';
import { toPublicError } from '../errors.js';

/** Trailer of a ROUND_CLOSED refusal on a semi-asynchronous job: the training round open now, where the site may re-send its update. */
export const OPEN_ROUND_KEY = 'medfed-open-round';

/** Any error as a gRPC status with the stable medfed code in the details and the `medfed-code` trailer. */
export function grpcError(err: unknown): grpc.ServiceError {
  const p = toPublicError(err);
  const metadata = new grpc.Metadata();
  metadata.set('medfed-code', p.code);
  const openRound = openRoundOf(err);
  if (p.code === 'ROUND_CLOSED' && openRound !== null) metadata.set(OPEN_ROUND_KEY, String(openRound));
  return Object.assign(new Error(`${p.code}: ${p.message}`), { code: p.grpc, details: `${p.code}: ${p.message}`, metadata });
}

function openRoundOf(err: unknown): number | null {
  const value = err instanceof MedfedError ? err.details?.['openRound'] : undefined;
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : null;
}

/**
 * Ends a server stream with the refusal as its status. `destroy(err)` would tear the stream down
 * before grpc-js sends a status, and the client would wait for its deadline; emitting 'error' makes
 * grpc-js record the status and end the call with it.
 */
export function failServerStream(call: grpc.ServerWritableStream<unknown, unknown>, err: unknown): void {
  if (call.destroyed || call.writableEnded) return;
  call.emit('error', grpcError(err));
}
