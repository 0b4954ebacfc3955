import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { FederationError } from '../../federation/errors.js';
import { toPublicError } from '../errors.js';
import { requestScopeOf, runInRequestScope } from '../../audit/request-events.js';
import { grpcError } from './grpc-error.js';

/** A client-streamed upload: one header message, then data chunks. */
export interface UploadChunk<M> {
  part: { $case: 'header'; value: M } | { $case: 'data'; value: Buffer } | undefined;
}

export interface UploadProtocol<M, H extends { readonly siteId: string; readonly byteSize: number }, R> {
  /** Messages name the upload: `first` as in "the first message of an update", `stream` as in "the update stream". */
  readonly first: string;
  readonly stream: string;
  /** Log line for a refusal. */
  readonly refused: string;
  /** The header as the service keeps it (bounded copies of its fields). */
  readonly header: (message: M) => H;
  /** Checks the header before any data is read; a rejection refuses the upload. */
  readonly admit: (header: H) => Promise<unknown>;
  /** Stores the complete payload and returns the response. */
  readonly accept: (header: H, payload: Buffer) => Promise<R>;
}

/**
 * Receives one upload stream (SubmitUpdate, SubmitRelease): admits the header before reading data,
 * never buffers more than the announced size, and answers once, inside the call's audit request
 * scope. A stream that ends short, or that the client abandons, stores nothing.
 */
export function receiveUpload<M, H extends { readonly siteId: string; readonly byteSize: number }, R>(
  call: grpc.ServerReadableStream<UploadChunk<M>, unknown>, cb: grpc.sendUnaryData<R>, log: Logger, protocol: UploadProtocol<M, H, R>,
): void {
  let header: H | null = null;
  let admitted: Promise<unknown> | null = null;
  const parts: Buffer[] = [];
  let received = 0;
  let failed = false;
  const fail = (err: unknown) => {
    if (failed) return;
    failed = true;
    log.info({ code: toPublicError(err).code, site: header?.siteId }, protocol.refused);
    cb(grpcError(err));
  };
  call.on('data', (chunk: UploadChunk<M>) => {
    if (failed) return;
    const part = chunk.part;
    if (!header) {
      if (part?.$case !== 'header') return fail(new FederationError('UPDATE_HEADER_MISSING', `the first message of ${protocol.first} must be its header`));
      const admitting = protocol.header(part.value);
      header = admitting;
      admitted = runInRequestScope(requestScopeOf(call.metadata), () => protocol.admit(admitting)).catch((err) => { fail(err); });
      return;
    }
    if (part?.$case !== 'data') return fail(new FederationError('VALIDATION_FAILED', 'only data chunks may follow the header'));
    received += part.value.byteLength;
    if (received > header.byteSize) {
      return fail(new FederationError('UPDATE_SIZE_MISMATCH', `received more than the ${header.byteSize} bytes announced`));
    }
    parts.push(part.value);
  });
  call.on('end', () => {
    if (failed) return;
    if (!header) return fail(new FederationError('UPDATE_HEADER_MISSING', `${protocol.stream} carried no header`));
    const h = header;
    void runInRequestScope(requestScopeOf(call.metadata), async () => {
      await admitted;
      if (failed) return;
      if (received < h.byteSize) {
        throw new FederationError('UPDATE_INCOMPLETE', `stream ended after ${received} of ${h.byteSize} bytes; nothing was stored`);
      }
      cb(null, await protocol.accept(h, Buffer.concat(parts, received)));
    }).catch(fail);
  });
  call.on('error', () => { failed = true; }); // client went away mid-upload: nothing is stored
  call.on('cancelled', () => { failed = true; });
}
