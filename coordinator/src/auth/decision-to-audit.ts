import type { AuditEventInput } from '@medfed/proto/audit/index';
import type { AuthDecision } from './decision.js';

const ACTOR_UNSAFE = /[^A-Za-z0-9._:@/+-]/g;
const REST_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** An actor id the audit schema accepts: nodes as site:<id>, people as their subject, others anonymous. */
function actorOf(d: AuthDecision): string {
  if (!d.principal) return 'anonymous';
  const raw = d.principal.kind === 'node' ? `site:${d.principal.sub}` : d.principal.sub;
  const safe = raw.replace(ACTOR_UNSAFE, '_').slice(0, 128);
  return /^[A-Za-z0-9]/.test(safe) ? safe : `x${safe.slice(0, 127)}`;
}

/**
 * Open operations whose requests are still recorded, one event each: credential issuance and key
 * enrollment (the credential is in the request itself, so the outcome is what matters). Other open
 * operations (health probes, the key set, static files) are not recorded: they would bury the rest.
 */
const RECORDED_OPEN_RULES: ReadonlySet<string> = new Set(['auth.token', 'node.token', 'node.enroll-key']);

export function recordsOpenOperation(rule: string): boolean {
  return RECORDED_OPEN_RULES.has(rule);
}

/**
 * A decision as an `api.access` audit event: one event per allow or deny, naming the deciding rule
 * (`policy:v<version>/<rule>`), so the audit chain shows who was let in or refused, where, and why.
 */
export function decisionToAuditEvent(d: AuthDecision): AuditEventInput {
  const [method, path] = d.transport === 'rest' ? d.operation.split(' ', 2) as [string, string | undefined] : ['POST', d.operation];
  const route = path && path.startsWith('/') ? path.replace(/[^A-Za-z0-9._~:/{}-]/g, '_').slice(0, 201) : '/{unmatched}';
  return {
    time: d.time,
    actor: actorOf(d),
    role: d.principal?.role ?? 'anonymous',
    site: d.principal?.site ?? null,
    action: 'api.access',
    resource: `api:${d.rule}`,
    outcome: d.effect === 'allow' ? 'success' : 'denied',
    request_id: d.requestId && /^[A-Za-z0-9._:-]{1,128}$/.test(d.requestId) ? d.requestId : null,
    rule: `policy:v${d.policyVersion}/${d.rule}`,
    details: {
      ...(REST_METHODS.has(method) ? { method } : {}),
      route,
      ...(d.code ? { reason: d.code } : {}),
    },
  };
}
