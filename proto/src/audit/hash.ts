import { createHash } from 'node:crypto';
import type { AuditEntry, AuditEvent } from './event.js';
import { canonicalJson } from './jcs.js';

/** The first entry's `prev_hash`. */
export const GENESIS_PREV_HASH = '0'.repeat(64);

const HEX64 = /^[0-9a-f]{64}$/;

export function isHash(value: unknown): value is string {
  return typeof value === 'string' && HEX64.test(value);
}

/** hash = SHA-256(bytes(prev_hash) || JCS(event)), bytes(prev_hash) being the 32 bytes the hex decodes to. */
export function chainHashOfCanonical(prevHash: string, eventJcs: string): string {
  return createHash('sha256').update(Buffer.from(prevHash, 'hex')).update(eventJcs, 'utf8').digest('hex');
}

export function chainHash(prevHash: string, event: AuditEvent | Readonly<Record<string, unknown>>): string {
  return chainHashOfCanonical(prevHash, canonicalJson(event));
}

/** The hashed part of an entry: the entry without `prev_hash` and `hash`. */
export function eventOf<T extends { prev_hash?: unknown; hash?: unknown }>(entry: T): Omit<T, 'prev_hash' | 'hash'> {
  const { prev_hash: _p, hash: _h, ...event } = entry;
  return event;
}

/** Links `event` after `prevHash`. */
export function linkEntry(prevHash: string, event: AuditEvent): AuditEntry {
  return { ...event, prev_hash: prevHash, hash: chainHash(prevHash, event) };
}
