import type { AuthErrorCode } from '@medfed/proto/auth/index';
import { OPEN_OPERATION } from '../decision.js';
import type { Principal } from '../principal.js';
import type { Grant, PolicyEntry } from './policy.js';

/** The site(s) a request concerns: `all` of them must be the caller's site, or the caller's site must be `among` them. */
export interface TargetSites {
  readonly sites: readonly string[];
  readonly match: 'all' | 'among';
}

export interface Verdict {
  readonly effect: 'allow' | 'deny';
  readonly rule: string;
  readonly code: AuthErrorCode | null;
  readonly reason: string;
  readonly grant: Grant | null;
}

const deny = (rule: string, code: AuthErrorCode, reason: string): Verdict => ({ effect: 'deny', rule, code, reason, grant: null });
const allow = (rule: string, reason: string, grant: Grant | null): Verdict => ({ effect: 'allow', rule, code: null, reason, grant });

/** True when an `own-site` grant still needs the request's target before it can decide. */
export function needsTarget(entry: PolicyEntry, verdict: Verdict): boolean {
  return verdict.effect === 'allow' && verdict.grant?.scope === 'own-site' && entry.target !== undefined;
}

/**
 * Decides one request. Without `target`, an `own-site` grant is decided up to the role (the caller must
 * call again with the target once it is known, e.g. when the first gRPC message arrives).
 */
export function decide(entry: PolicyEntry | undefined, operation: string, principal: Principal | null, target?: TargetSites): Verdict {
  if (!entry) return deny('default-deny', 'AUTH_NO_POLICY', `${operation} has no policy entry and is denied by default`);
  if (entry.access === 'public') return allow(entry.rule, OPEN_OPERATION, null);
  if (!principal) return deny(entry.rule, 'AUTH_CREDENTIAL_MISSING', `${operation} requires a credential (Authorization: Bearer <token>, or DPoP <token> with a DPoP proof)`);
  const grant = entry.access.find((g) => g.role === principal.role);
  if (!grant) {
    return deny(entry.rule, 'AUTH_ROLE_FORBIDDEN', `role ${principal.role} may not ${operation} (policy rule ${entry.rule})`);
  }
  if (grant.scope !== 'own-site' || target === undefined) return allow(entry.rule, `granted to role ${principal.role}`, grant);
  if (principal.kind === 'anonymous-node') return allow('dev.anonymous-node', 'development mode: a call without credentials acts as the site it names', grant);
  const own = principal.site;
  const inScope = own !== null && (target.match === 'all'
    ? target.sites.length > 0 && target.sites.every((s) => s === own)
    : target.sites.includes(own));
  if (!inScope) {
    // For a job, name no participant: a caller outside the job learns nothing about it.
    const about = target.match === 'among' ? `a resource site ${own ?? '(none)'} does not take part in`
      : target.sites.length === 0 ? 'no site' : target.sites.join(', ');
    return deny(entry.rule, 'AUTH_SITE_SCOPE', `a credential of site ${own ?? '(none)'} acts only for that site; this request concerns ${about}`);
  }
  return allow(entry.rule, `granted to role ${principal.role} for its own site`, grant);
}
