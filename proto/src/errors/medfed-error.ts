/**
 * The one error type that crosses medfed's boundaries. Every refusal carries a stable `code`
 * (asserted by tests, listed in docs/errors.md) and a message that is safe to show a caller.
 */
export class MedfedError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: Code, message: string, details?: Record<string, unknown>, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** gRPC status numbers (grpc/status.proto), kept here so `proto` depends on no transport. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** How one error code maps onto the transports. `summary` is the public, stable description. */
export interface ErrorSpec {
  readonly http: number;
  readonly grpc: (typeof GrpcStatus)[keyof typeof GrpcStatus];
  readonly summary: string;
}

export type ErrorTable = Readonly<Record<string, ErrorSpec>>;
