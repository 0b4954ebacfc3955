/**
 * The audit event: who (actor, role, site) did what (action on resource), when (time), with which
 * result (outcome) under which rule, for which request (NIST SP 800-53 AU-3), plus a bounded set of
 * typed details. Field names are the wire names: they are hashed, so they never change.
 */
export const AUDIT_EVENT_VERSION = 1;

/** `denied`: refused by authorization or policy (the `rule` says which); `failure`: allowed but it failed. */
export const AUDIT_OUTCOMES = ['success', 'denied', 'failure'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export type AuditDetailValue = string | number | boolean | readonly string[];
export type AuditDetails = Readonly<Record<string, AuditDetailValue>>;

/** What a caller records; the store assigns `seq`, and `time` defaults to now. */
export interface AuditEventInput {
  readonly time?: string;
  readonly actor: string;
  readonly role: string;
  readonly site?: string | null;
  readonly action: string;
  readonly resource: string;
  readonly outcome: AuditOutcome;
  readonly request_id?: string | null;
  readonly rule: string;
  readonly details?: AuditDetails;
}

/** The hashed event: every field present (absent optionals are `null` / `{}`), so JCS bytes are unambiguous. */
export interface AuditEvent {
  readonly v: typeof AUDIT_EVENT_VERSION;
  readonly seq: number;
  readonly time: string;
  readonly actor: string;
  readonly role: string;
  readonly site: string | null;
  readonly action: string;
  readonly resource: string;
  readonly outcome: AuditOutcome;
  readonly request_id: string | null;
  readonly rule: string;
  readonly details: AuditDetails;
}

/** One link of the chain: the event plus `prev_hash` and `hash` (lowercase hex SHA-256). */
export interface AuditEntry extends AuditEvent {
  readonly prev_hash: string;
  readonly hash: string;
}

/** An entry outside an export's filter: its place in the chain without its content. */
export interface HashOnlyEntry {
  readonly seq: number;
  readonly prev_hash: string;
  readonly hash: string;
}

/** The chain's tip: the last entry's sequence number and hash (seq 0 and 64 zeros when empty). */
export interface AuditHead {
  readonly seq: number;
  readonly hash: string;
}
