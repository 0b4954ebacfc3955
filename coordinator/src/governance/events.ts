import type { AuditEventInput } from '@medfed/proto/audit/index';
import type { StewardApprovalClaims } from '@medfed/proto/governance/index';
import { appendAuditEvent } from '../audit/store/append.js';
import { noteRequestEvent } from '../audit/request-events.js';
import type { Db } from '../storage/db.js';

/** Who asks for a governed action, as its audit event names them. */
export interface GovernanceActor {
  readonly actor: string;
  readonly role: string;
  readonly site?: string | null;
  /** The rule that admitted the request (the policy rule, or the configuration setting at start). */
  readonly rule: string;
  readonly requestId: string | null;
}

/** `steward:<site>` and `auditor:<id>`: how events name who signed. */
export function signerNames(signed: { readonly steward: readonly string[]; readonly auditor: readonly string[] }): string[] {
  return [...signed.steward.map((s) => `steward:${s}`), ...signed.auditor.map((a) => `auditor:${a}`)];
}

export function signerName(claims: Pick<StewardApprovalClaims, 'signerRole' | 'signer'>): string {
  return `${claims.signerRole}:${claims.signer}`;
}

/** The fields every governance event shares. */
export function governanceEvent(by: GovernanceActor, fields: Pick<AuditEventInput, 'action' | 'resource' | 'outcome' | 'details'>): AuditEventInput {
  return { actor: by.actor, role: by.role, site: by.site ?? null, rule: by.rule, request_id: by.requestId, ...fields };
}

/** Records a refusal as the request's own event (so no separate access decision is written for it). */
export async function recordRefusal(db: Db, event: AuditEventInput): Promise<void> {
  await appendAuditEvent(db, event);
  noteRequestEvent(event, 'committed');
}
