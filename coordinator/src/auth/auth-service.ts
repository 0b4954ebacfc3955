import { AuthError, MAX_ACCESS_TOKEN_SECONDS } from '@medfed/proto/auth/index';
import type { Logger } from 'pino';
import type { TokenKeyRing } from '../keys/key-ring.js';
import type { Db } from '../storage/db.js';
import { authenticate, type PresentedCredentials } from './authenticate.js';
import type { AuthContext } from './context.js';
import type { AuthDecision, OnDecision } from './decision.js';
import { enrollSiteKey } from './nodes/enroll-key.js';
import { issueNodeToken } from './nodes/issue-node-token.js';
import { rotateSiteKey } from './nodes/rotate-key.js';
import type { ProofTarget } from './nodes/verify-proof.js';
import { createApiKey, loginWithApiKey, logout, refreshSession } from './people/api-key-login.js';
import { loginWithOidc, OidcVerifier } from './people/oidc-login.js';
import { decide, type TargetSites, type Verdict } from './policy/decide.js';
import { indexPolicy, POLICY, type Policy, type PolicyEntry } from './policy/policy.js';
import { describePrincipal, type Principal } from './principal.js';
import { assertStillStanding } from './still-standing.js';
import type { AuthSettings } from './settings.js';
import { listApiKeys, revokeApiKey, type ApiKeyView } from './store/api-keys.js';
import { createEnrollmentCode } from './store/enrollment-codes.js';
import { purgeReplayCache } from './store/replay-cache.js';
import type { IssuedToken } from './tokens/access-token.js';
import { TtlCache } from './ttl-cache.js';

/**
 * How long this process may reuse a session's or a site's standing read from the database. Changes made
 * through this process (logout, revocation, suspension, rotation) apply at once; a change made by another
 * replica is seen within this time.
 */
export const STATUS_CACHE_MS = 1000;

export interface AuthServiceOptions {
  readonly db: Db;
  readonly ring: TokenKeyRing;
  readonly settings: AuthSettings;
  readonly log: Logger;
  /** Receives every allow and deny (the audit trail). Must not throw; failures are logged and ignored. */
  readonly onDecision?: OnDecision;
  readonly policy?: Policy;
  readonly now?: () => Date;
}

/** One authorization outcome as the transports report it. */
export interface DecisionInput {
  readonly transport: 'rest' | 'grpc';
  readonly operation: string;
  readonly principal: Principal | null;
  readonly verdict: { readonly effect: 'allow' | 'deny'; readonly rule: string; readonly code: string | null; readonly reason: string };
  readonly targetSites?: readonly string[];
  readonly requestId?: string | null;
}

/**
 * Identity and access for the whole coordinator: authenticates what REST and gRPC calls present,
 * decides them against the one policy, records every decision, and runs enrollment, token issuance,
 * logins, API keys and key rotation.
 */
export class AuthService {
  readonly context: AuthContext;
  readonly policy: Policy;
  readonly #index: ReadonlyMap<string, PolicyEntry>;
  readonly #log: Logger;
  readonly #onDecision: OnDecision | undefined;
  readonly #oidc: OidcVerifier | null;
  #maintenance: NodeJS.Timeout | undefined;

  constructor(options: AuthServiceOptions) {
    const s = options.settings;
    if (s.nodeTokenSeconds > MAX_ACCESS_TOKEN_SECONDS || s.personTokenSeconds > MAX_ACCESS_TOKEN_SECONDS) {
      throw new AuthError('AUTH_REQUEST_INVALID', `token lifetimes are limited to ${MAX_ACCESS_TOKEN_SECONDS} s`);
    }
    this.context = {
      db: options.db, ring: options.ring, settings: s, now: options.now ?? (() => new Date()),
      caches: {
        tokens: new TtlCache(MAX_ACCESS_TOKEN_SECONDS * 1000),
        sessions: new TtlCache(STATUS_CACHE_MS),
        standing: new TtlCache(STATUS_CACHE_MS),
      },
    };
    this.policy = options.policy ?? POLICY;
    this.#index = indexPolicy(this.policy);
    this.#log = options.log;
    this.#onDecision = options.onDecision;
    this.#oidc = s.oidc ? new OidcVerifier(s.oidc) : null;
  }

  get settings(): AuthSettings {
    return this.context.settings;
  }

  get keys(): TokenKeyRing {
    return this.context.ring;
  }

  /** Purges the replay cache and rotates / retires signing keys, every `intervalMs`. */
  startMaintenance(intervalMs = 60_000): void {
    const run = async () => {
      const now = this.context.now();
      await purgeReplayCache(this.context.db, now).catch((err: unknown) => this.#log.warn({ err }, 'replay cache purge failed'));
      await this.context.ring.maintain(now).catch((err: unknown) => this.#log.error({ err }, 'signing key maintenance failed'));
    };
    this.#maintenance = setInterval(() => void run(), intervalMs);
    this.#maintenance.unref();
  }

  stop(): void {
    clearInterval(this.#maintenance);
  }

  // ---- decisions ----------------------------------------------------------------------------

  policyEntry(transport: 'rest' | 'grpc', operation: string): PolicyEntry | undefined {
    return this.#index.get(`${transport} ${operation}`);
  }

  decide(transport: 'rest' | 'grpc', operation: string, principal: Principal | null, target?: TargetSites): Verdict {
    return decide(this.policyEntry(transport, operation), operation, principal, target);
  }

  record(input: DecisionInput): void {
    if (!this.#onDecision) return;
    const decision: AuthDecision = {
      time: this.context.now().toISOString(),
      effect: input.verdict.effect,
      rule: input.verdict.rule,
      policyVersion: this.policy.version,
      code: input.verdict.code,
      reason: input.verdict.reason,
      transport: input.transport,
      operation: input.operation,
      principal: input.principal ? describePrincipal(input.principal) : null,
      targetSites: input.targetSites ?? [],
      requestId: input.requestId ?? null,
    };
    try {
      this.#onDecision(decision);
    } catch (err) {
      this.#log.error({ err }, 'the decision hook failed');
    }
  }

  // ---- authentication -----------------------------------------------------------------------

  authenticate(creds: PresentedCredentials): Promise<Principal | null> {
    return authenticate(this.context, creds);
  }

  jwks(): ReturnType<TokenKeyRing['jwks']> {
    return this.context.ring.jwks();
  }

  // ---- nodes --------------------------------------------------------------------------------

  enrollKey(siteId: string, code: string, proof: string | undefined, target: ProofTarget): Promise<{ jkt: string }> {
    return enrollSiteKey(this.context, siteId, code, proof, target);
  }

  issueNodeToken(assertion: unknown, proof: string | undefined, target: ProofTarget): Promise<IssuedToken> {
    return issueNodeToken(this.context, assertion, proof, target);
  }

  rotateKey(principal: Principal, newKeyProof: string, target: ProofTarget): Promise<{ jkt: string }> {
    return rotateSiteKey(this.context, principal, newKeyProof, target);
  }

  createEnrollmentCode(siteId: string, createdBy: string): Promise<{ code: string; expiresAt: Date }> {
    return createEnrollmentCode(this.context.db, siteId, createdBy, this.context.settings.enrollmentCodeHours, this.context.now());
  }

  /** Suspends a site: every token of it is refused from the next request on (the check is per request). */
  async setSiteSuspended(siteId: string, suspended: boolean): Promise<string> {
    const { rows } = await this.context.db.query<{ status: string }>(
      `UPDATE sites SET status = CASE WHEN status = 'revoked' THEN status WHEN $2 THEN 'suspended' WHEN agent_version IS NULL THEN 'registered' ELSE 'active' END
        WHERE id = $1 RETURNING status`, [siteId, suspended]);
    this.context.caches.standing.clear();
    if (!rows[0]) throw new AuthError('AUTH_REQUEST_INVALID', `no site ${siteId} is registered`);
    if (rows[0].status === 'revoked') throw new AuthError('AUTH_SITE_REVOKED', `site ${siteId} was revoked for good; it cannot be suspended or reinstated`);
    return rows[0].status;
  }

  /**
   * Revokes a site for good: its keys retire (every token bound to them stops at the next request),
   * its unused enrollment codes expire, and it can never enrol or be reinstated. Running encrypted
   * jobs drop it as they drop a suspended site. Idempotent: revoking a revoked site changes nothing.
   */
  async revokeSite(siteId: string, revokedBy: string, reason: string): Promise<{ status: 'revoked'; revokedAt: Date; alreadyRevoked: boolean }> {
    const result = await this.context.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ status: string; revoked_at: Date | null }>('SELECT status, revoked_at FROM sites WHERE id = $1 FOR UPDATE', [siteId]);
      const site = rows[0];
      if (!site) throw new AuthError('AUTH_REQUEST_INVALID', `no site ${siteId} is registered`);
      if (site.status === 'revoked' && site.revoked_at) return { status: 'revoked' as const, revokedAt: new Date(site.revoked_at), alreadyRevoked: true };
      const { rows: updated } = await tx.query<{ revoked_at: Date }>(
        `UPDATE sites SET status = 'revoked', revoked_at = now(), revoked_by = $2, revoke_reason = $3 WHERE id = $1 RETURNING revoked_at`,
        [siteId, revokedBy, reason]);
      await tx.query(`UPDATE auth_site_keys SET status = 'retired', retired_at = now() WHERE site_id = $1 AND status = 'active'`, [siteId]);
      await tx.query('UPDATE auth_enrollment_codes SET expires_at = least(expires_at, now()) WHERE site_id = $1 AND used_at IS NULL', [siteId]);
      return { status: 'revoked' as const, revokedAt: new Date(updated[0]!.revoked_at), alreadyRevoked: false };
    });
    this.context.caches.standing.clear();
    return result;
  }

  // ---- people -------------------------------------------------------------------------------

  loginWithApiKey(apiKey: unknown): Promise<IssuedToken> {
    return loginWithApiKey(this.context, apiKey);
  }

  loginWithOidc(idToken: unknown): Promise<IssuedToken> {
    return loginWithOidc(this.context, this.#oidc, idToken);
  }

  refreshSession(principal: Principal): Promise<IssuedToken> {
    return refreshSession(this.context, principal);
  }

  logout(principal: Principal): Promise<void> {
    return logout(this.context, principal);
  }

  createApiKey(input: { name: unknown; role: unknown; site?: unknown; days?: unknown; createdBy: string }): Promise<{ id: string; key: string; expiresAt: Date }> {
    return createApiKey(this.context, input);
  }

  async revokeApiKey(id: string): Promise<void> {
    await revokeApiKey(this.context.db, id, this.context.now());
    this.context.caches.sessions.clear();
  }

  listApiKeys(): Promise<ApiKeyView[]> {
    return listApiKeys(this.context.db);
  }

  /** For open streams: refuses once the principal's session, key or site no longer stands (no cache). */
  assertStillStanding(principal: Principal): Promise<void> {
    return assertStillStanding(this.context.db, principal, this.context.now());
  }
}
