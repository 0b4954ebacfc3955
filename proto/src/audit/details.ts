import { peekStewardApproval } from '../governance/steward-approval.js';
import { AuditError } from './errors.js';
import type { AuditDetailValue, AuditDetails } from './event.js';

/**
 * Detail values are typed, short and closed: no free text, so no patient data can ride along in an
 * audit event. Every key an action may carry is listed here with its kind; the action table says
 * which keys each action accepts.
 */
const ID = /^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}$/;
const CODE = /^[A-Z][A-Z0-9_]{1,63}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const HEX = /^[0-9a-f]{16,128}$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const ROUTE = /^\/[A-Za-z0-9._~:/{}-]{0,200}$/;

type DetailKind =
  | { readonly kind: 'id' }
  | { readonly kind: 'ids'; readonly max: number }
  | { readonly kind: 'code' }
  | { readonly kind: 'sha256' }
  | { readonly kind: 'hex' }
  | { readonly kind: 'time' }
  | { readonly kind: 'route' }
  | { readonly kind: 'count' }
  | { readonly kind: 'amount' }
  | { readonly kind: 'signed-amount' }
  | { readonly kind: 'flag' }
  | { readonly kind: 'approvals'; readonly max: number }
  | { readonly kind: 'enum'; readonly values: readonly string[] };

export const AUDIT_DETAIL_FIELDS = {
  job: { kind: 'id' },
  round: { kind: 'count' },
  kind: { kind: 'enum', values: ['stats', 'train', 'evaluate'] },
  model: { kind: 'id' },
  site: { kind: 'id' },
  sites: { kind: 'ids', max: 256 },
  rounds: { kind: 'count' },
  samples: { kind: 'count' },
  sha256: { kind: 'sha256' },
  old_sha256: { kind: 'sha256' },
  new_sha256: { kind: 'sha256' },
  bytes: { kind: 'count' },
  reason: { kind: 'code' },
  scope: { kind: 'id' },
  expires_at: { kind: 'time' },
  idle_seconds: { kind: 'count' },
  key_id: { kind: 'id' },
  client_version: { kind: 'id' },
  method: { kind: 'enum', values: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] },
  route: { kind: 'route' },
  status: { kind: 'count' },
  verdict: { kind: 'enum', values: ['pass', 'fail'] },
  measurement: { kind: 'hex' },
  ceremony: { kind: 'id' },
  threshold: { kind: 'count' },
  participants: { kind: 'count' },
  epsilon: { kind: 'amount' },
  delta: { kind: 'amount' },
  epsilon_total: { kind: 'amount' },
  epsilon_budget: { kind: 'amount' },
  epsilon_remaining: { kind: 'signed-amount' },
  mechanism: { kind: 'enum', values: ['gaussian', 'laplace', 'secure-aggregation'] },
  setting: { kind: 'id' },
  from: { kind: 'time' },
  to: { kind: 'time' },
  format: { kind: 'enum', values: ['bundle-v1'] },
  through_seq: { kind: 'count' },
  count: { kind: 'count' },
  before: { kind: 'time' },
  encrypted: { kind: 'flag' },
  sandboxed: { kind: 'flag' },
  /** A site's dataset identifier (the name its privacy budget is kept under), never its content. */
  dataset: { kind: 'id' },
  /** An ethics approval or data-use agreement reference (an identifier: no free text). */
  ethics_ref: { kind: 'id' },
  /** The consortium a signed decision or roster belongs to (docs/governance.md). */
  consortium: { kind: 'id' },
  /** A consortium roster's version. */
  version: { kind: 'count' },
  /** Who signed a decision, as `steward:<site>` or `auditor:<id>`. */
  signers: { kind: 'ids', max: 256 },
  /**
   * The signed approvals a decision counted, as compact JWS: each must read as a steward approval
   * (strict claims, canonical payload, at most 4 KiB), so nothing else can ride in them. A verifier
   * who pinned the roster re-checks them offline (medfed audit verify --roster).
   */
  approvals: { kind: 'approvals', max: 64 },
} as const satisfies Readonly<Record<string, DetailKind>>;

export type AuditDetailKey = keyof typeof AUDIT_DETAIL_FIELDS;

function describe(kind: DetailKind): string {
  switch (kind.kind) {
    case 'id': return 'an identifier (letters, digits and ._:@/+-, at most 128 characters, no spaces)';
    case 'ids': return `a list of at most ${kind.max} identifiers`;
    case 'code': return 'an UPPER_SNAKE reason code';
    case 'sha256': return '64 lowercase hex characters';
    case 'hex': return '16 to 128 lowercase hex characters';
    case 'time': return 'an RFC 3339 UTC time with milliseconds (YYYY-MM-DDTHH:MM:SS.sssZ)';
    case 'route': return 'a route template starting with /';
    case 'count': return 'a non-negative safe integer';
    case 'amount': return 'a finite non-negative number';
    case 'signed-amount': return 'a finite number';
    case 'flag': return 'a boolean';
    case 'approvals': return `a list of at most ${kind.max} signed steward approvals (compact JWS, docs/governance.md)`;
    case 'enum': return `one of ${kind.values.join(', ')}`;
  }
}

function matches(kind: DetailKind, value: unknown): boolean {
  switch (kind.kind) {
    case 'id': return typeof value === 'string' && ID.test(value);
    case 'ids': return Array.isArray(value) && value.length <= kind.max && value.every((v) => typeof v === 'string' && ID.test(v));
    case 'code': return typeof value === 'string' && CODE.test(value);
    case 'sha256': return typeof value === 'string' && SHA256.test(value);
    case 'hex': return typeof value === 'string' && HEX.test(value);
    case 'time': return typeof value === 'string' && TIME.test(value) && !Number.isNaN(Date.parse(value)) && new Date(value).toISOString() === value;
    case 'route': return typeof value === 'string' && ROUTE.test(value);
    case 'count': return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
    case 'amount': return typeof value === 'number' && Number.isFinite(value) && value >= 0;
    case 'signed-amount': return typeof value === 'number' && Number.isFinite(value);
    case 'flag': return typeof value === 'boolean';
    case 'approvals': return Array.isArray(value) && value.length <= kind.max && value.every(isStewardApproval);
    case 'enum': return typeof value === 'string' && kind.values.includes(value);
  }
}

function isStewardApproval(value: unknown): boolean {
  try {
    peekStewardApproval(value);
    return true;
  } catch {
    return false;
  }
}

/** Checks `details` against the action's closed key list; returns a plain copy safe to hash. */
export function validateDetails(action: string, allowed: readonly AuditDetailKey[], details: unknown): AuditDetails {
  if (details === undefined || details === null) return {};
  if (typeof details !== 'object' || Array.isArray(details)) {
    throw new AuditError('AUDIT_DETAIL_INVALID', `details of ${action} must be an object of typed values, got ${Array.isArray(details) ? 'an array' : typeof details}`);
  }
  const out: Record<string, AuditDetailValue> = {};
  for (const [key, value] of Object.entries(details)) {
    if (value === undefined) continue;
    if (!(allowed as readonly string[]).includes(key)) {
      throw new AuditError('AUDIT_DETAIL_NOT_ALLOWED',
        `detail "${key}" is not allowed for action ${action}; allowed keys: ${allowed.join(', ') || '(none)'}. ` +
        'Add the key to the action table in proto/src/audit/actions.ts only if it can never carry patient data.',
        { action, key });
    }
    const kind: DetailKind = AUDIT_DETAIL_FIELDS[key as AuditDetailKey];
    if (!matches(kind, value)) {
      throw new AuditError('AUDIT_DETAIL_INVALID', `detail "${key}" of ${action} must be ${describe(kind)}`, { action, key });
    }
    out[key] = Array.isArray(value) ? [...(value as string[])] : (value as AuditDetailValue);
  }
  return out;
}
