import { createHash } from 'node:crypto';
import { GateError } from '../errors.js';

/** The one digest notation the gate accepts and prints: `sha256:` + 64 lowercase hex digits. */
const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

export function isSha256Digest(value: unknown): value is string {
  return typeof value === 'string' && DIGEST_PATTERN.test(value);
}

export function sha256Digest(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Validates a digest given by a caller; `field` names it in the message. */
export function parseDigest(value: unknown, field: string): string {
  if (!isSha256Digest(value)) {
    throw new GateError(
      'GATE_DIGEST_INVALID',
      `${field}: ${JSON.stringify(value)} is not a digest; expected sha256:<64 lowercase hex digits>`,
    );
  }
  return value;
}
