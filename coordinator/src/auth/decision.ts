/**
 * The record of one authorization decision: every allow and every deny on every transport produces
 * one, naming the rule that decided. Delivered to the `onDecision` hook (the audit trail stores them).
 */
export interface AuthDecision {
  readonly time: string;
  readonly effect: 'allow' | 'deny';
  /** The policy rule id, or `authenticate` when the credential itself was refused, or `default-deny`. */
  readonly rule: string;
  readonly policyVersion: number;
  /** The refusal code (AUTH_*) for a deny; null for an allow. */
  readonly code: string | null;
  readonly reason: string;
  readonly transport: 'rest' | 'grpc';
  /** `GET /v1/jobs/:id` or `/medfed.v1.Federation/SubmitUpdate`. */
  readonly operation: string;
  readonly principal: { readonly sub: string; readonly role: string; readonly site: string | null; readonly kind: string } | null;
  /** The site(s) the request concerns, when the rule scopes by site. */
  readonly targetSites: readonly string[];
  readonly requestId: string | null;
}

export type OnDecision = (decision: AuthDecision) => void;

/** The reason recorded for an allow on an operation the policy leaves open. */
export const OPEN_OPERATION = 'open operation';
