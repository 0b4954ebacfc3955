import canonicalize from 'canonicalize';
import { AuditError } from './errors.js';

/**
 * RFC 8785 (JCS) canonical JSON. The `canonicalize` package sorts members by UTF-16 code units and
 * serialises numbers with ECMAScript Number#toString, which is what RFC 8785 specifies; the tests pin
 * it to the RFC's published examples. Values JCS cannot represent (NaN, Infinity, lone surrogates,
 * undefined at the top) are refused rather than silently changed.
 */
export function canonicalJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (err) {
    throw new AuditError('AUDIT_CANONICALIZATION_FAILED', `value cannot be canonicalized (RFC 8785): ${(err as Error).message}`, undefined, { cause: err });
  }
  if (text === undefined) {
    throw new AuditError('AUDIT_CANONICALIZATION_FAILED', 'value cannot be canonicalized (RFC 8785): it has no JSON representation');
  }
  return text;
}

const encoder = new TextEncoder();

export function canonicalBytes(value: unknown): Uint8Array {
  return encoder.encode(canonicalJson(value));
}
