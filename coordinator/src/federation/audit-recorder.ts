import type { AuditEventInput } from '@medfed/proto/audit/index';
import type { Queryable } from '../storage/db.js';

/**
 * How the federation core records what it does. State changes are recorded inside the same
 * transaction (they commit together or not at all: if the audit cannot be written, the action
 * fails); refusals, which change no state, go through the batching writer and are confirmed
 * before the refusal is answered.
 */
export interface AuditRecorder {
  inTransaction(tx: Queryable, event: AuditEventInput): Promise<void>;
  append(event: AuditEventInput): Promise<void>;
}

/** Who asked for an action: a person (through REST) or a site (through gRPC). */
export interface Actor {
  readonly actor: string;
  readonly role: string;
  readonly site?: string | null;
  readonly requestId?: string | null;
  /** The policy rule that admitted the request (`policy:v1/jobs.create`); the action's event records it. */
  readonly rule?: string | null;
}

export const SYSTEM_ACTOR: Actor = { actor: 'coordinator', role: 'system' };

export function siteActor(siteId: string, requestId?: string | null): Actor {
  return { actor: siteId, role: 'node', site: siteId, requestId: requestId ?? null };
}
