import { auditActionSpec } from './actions.js';
import { validateDetails } from './details.js';
import { AuditError } from './errors.js';
import { AUDIT_EVENT_VERSION, AUDIT_OUTCOMES, type AuditEvent, type AuditEventInput } from './event.js';

/** Field patterns: identifiers, never free text (an audit trail must not become a patient-data store). */
const FIELD_RULES = {
  actor: { pattern: /^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}$/, hint: 'a principal id such as user:alice@hospital-a or site:site-a (no spaces, at most 128 characters)' },
  role: { pattern: /^[a-z][a-z0-9-]{0,31}$/, hint: 'a lowercase role name such as auditor or site' },
  site: { pattern: /^[a-z0-9][a-z0-9-]{0,62}$/, hint: 'a site id (lowercase letters, digits and -) or null' },
  resource: { pattern: /^[a-z][a-z0-9-]{0,31}(?::[A-Za-z0-9._@+-]{1,128})?(?:\/[a-z][a-z0-9-]{0,31}(?::[A-Za-z0-9._@+-]{1,128})?){0,7}$/, hint: 'a resource path such as job:j-1/round:3 or model:m-9' },
  request_id: { pattern: /^[A-Za-z0-9._:-]{1,128}$/, hint: 'a request id (letters, digits and ._:-) or null' },
  rule: { pattern: /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$/, hint: 'the id of the deciding rule such as rbac:auditor/audit.export' },
} as const;

const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The one spelling Date#toISOString gives: rejects offsets, missing milliseconds and impossible dates. */
export function isCanonicalTime(value: unknown): value is string {
  if (typeof value !== 'string' || !TIME.test(value)) return false;
  const t = Date.parse(value);
  return !Number.isNaN(t) && new Date(t).toISOString() === value;
}

function field(name: keyof typeof FIELD_RULES, value: unknown, nullable: boolean): string | null {
  if (nullable && (value === null || value === undefined)) return null;
  const rule = FIELD_RULES[name];
  if (typeof value !== 'string' || !rule.pattern.test(value)) {
    throw new AuditError('AUDIT_EVENT_INVALID', `audit event field "${name}" must be ${rule.hint}; got ${JSON.stringify(value) ?? 'undefined'}`, { field: name });
  }
  return value;
}

/** Milliseconds, UTC, `Z`: one spelling per instant, because the spelling is hashed. */
export function auditTime(date: Date = new Date()): string {
  return date.toISOString();
}

/** Validates a caller's event and gives it its sequence number: the exact object that is hashed. */
export function toAuditEvent(input: AuditEventInput, seq: number): AuditEvent {
  if (typeof input !== 'object' || input === null) {
    throw new AuditError('AUDIT_EVENT_INVALID', 'an audit event must be an object');
  }
  if (!Number.isSafeInteger(seq) || seq < 1) {
    throw new AuditError('AUDIT_EVENT_INVALID', `audit sequence numbers start at 1; got ${seq}`, { field: 'seq' });
  }
  const spec = auditActionSpec(input.action);
  if (!spec) {
    throw new AuditError('AUDIT_ACTION_UNKNOWN', `audit action ${JSON.stringify(input.action)} is not in AUDIT_ACTIONS (proto/src/audit/actions.ts); add it there with its allowed detail keys`, { action: input.action });
  }
  const time = input.time ?? auditTime();
  if (!isCanonicalTime(time)) {
    throw new AuditError('AUDIT_EVENT_INVALID', `audit event field "time" must be an RFC 3339 UTC time with milliseconds (Date#toISOString); got ${JSON.stringify(time)}`, { field: 'time' });
  }
  if (!(AUDIT_OUTCOMES as readonly unknown[]).includes(input.outcome)) {
    throw new AuditError('AUDIT_EVENT_INVALID', `audit event field "outcome" must be one of ${AUDIT_OUTCOMES.join(', ')}; got ${JSON.stringify(input.outcome)}`, { field: 'outcome' });
  }
  return {
    v: AUDIT_EVENT_VERSION,
    seq,
    time,
    actor: field('actor', input.actor, false)!,
    role: field('role', input.role, false)!,
    site: field('site', input.site, true),
    action: input.action,
    resource: field('resource', input.resource, false)!,
    outcome: input.outcome,
    request_id: field('request_id', input.request_id, true),
    rule: field('rule', input.rule, false)!,
    details: validateDetails(input.action, spec.details, input.details),
  };
}
