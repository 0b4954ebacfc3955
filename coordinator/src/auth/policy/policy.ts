import type { Role } from '@medfed/proto/auth/index';

/**
 * How a grant limits a role to a site:
 * - `any`: no site limit;
 * - `own-site`: the request's target site(s) must be the caller's site (see `target`);
 * - `own-site-list`: allowed; the handler lists only what concerns the caller's site.
 */
export type GrantScope = 'any' | 'own-site' | 'own-site-list';

export interface Grant {
  readonly role: Role;
  readonly scope: GrantScope;
}

/**
 * Where the site a request concerns comes from:
 * - `site-param`: REST path parameter `id` is a site id;
 * - `job-param`: REST path parameter `id` is a job id: the caller's site must take part in it;
 * - `message-site`: the gRPC request message's `siteId`;
 * - `update-header-site`: `siteId` of the header message of an update stream.
 */
export type TargetKind = 'site-param' | 'job-param' | 'message-site' | 'update-header-site';

export interface PolicyEntry {
  /** Stable rule id, recorded in every decision. */
  readonly rule: string;
  readonly transport: 'rest' | 'grpc';
  /** REST: `METHOD /route/:param` as registered; gRPC: the method path. */
  readonly operation: string;
  /** `public` needs no credential; otherwise the roles granted. Anything not granted is denied. */
  readonly access: 'public' | readonly Grant[];
  readonly target?: TargetKind;
}

export interface Policy {
  readonly version: number;
  readonly entries: readonly PolicyEntry[];
}

const any = (...roles: Role[]): Grant[] => roles.map((role) => ({ role, scope: 'any' }));
const ownSite = (...roles: Role[]): Grant[] => roles.map((role) => ({ role, scope: 'own-site' }));
const ownSiteList = (...roles: Role[]): Grant[] => roles.map((role) => ({ role, scope: 'own-site-list' }));

const F = '/medfed.v1.Federation';
const H = '/grpc.health.v1.Health';

/** The operation key of the REST not-found handler (a request that matched no route). */
export const REST_NOT_FOUND = '* (no route)';

/**
 * The one authorization policy: every REST route and gRPC method, default deny. Bump `version`
 * with every change; decisions record it. docs/auth.md prints this table.
 */
export const POLICY: Policy = {
  version: 4,
  entries: [
    // ---- open: health, the key set, and the token endpoint (which checks its own credentials) ----
    { rule: 'health.read', transport: 'rest', operation: 'GET /healthz', access: 'public' },
    { rule: 'health.ready', transport: 'rest', operation: 'GET /readyz', access: 'public' },
    { rule: 'jwks.read', transport: 'rest', operation: 'GET /.well-known/jwks.json', access: 'public' },
    { rule: 'auth.token', transport: 'rest', operation: 'POST /v1/auth/token', access: 'public' },
    // ---- the caller itself ----
    { rule: 'auth.whoami', transport: 'rest', operation: 'GET /v1/auth/whoami',
      access: any('admin', 'site-steward', 'researcher', 'clinician', 'auditor', 'node') },
    { rule: 'auth.logout', transport: 'rest', operation: 'POST /v1/auth/logout',
      access: any('admin', 'site-steward', 'researcher', 'clinician', 'auditor') },
    // ---- sites ----
    { rule: 'sites.list', transport: 'rest', operation: 'GET /v1/sites',
      access: [...any('admin', 'researcher', 'auditor'), ...ownSiteList('site-steward', 'clinician')] },
    { rule: 'sites.register', transport: 'rest', operation: 'POST /v1/sites', access: any('admin') },
    { rule: 'sites.read', transport: 'rest', operation: 'GET /v1/sites/:id', target: 'site-param',
      access: [...any('admin', 'researcher', 'auditor'), ...ownSite('site-steward', 'clinician', 'node')] },
    { rule: 'sites.enrollment-code', transport: 'rest', operation: 'POST /v1/sites/:id/enrollment-codes', target: 'site-param',
      access: [...any('admin'), ...ownSite('site-steward')] },
    { rule: 'sites.suspend', transport: 'rest', operation: 'POST /v1/sites/:id/suspend', target: 'site-param',
      access: [...any('admin'), ...ownSite('site-steward')] },
    { rule: 'sites.reinstate', transport: 'rest', operation: 'POST /v1/sites/:id/reinstate', access: any('admin') },
    { rule: 'sites.revoke', transport: 'rest', operation: 'POST /v1/sites/:id/revoke', access: any('admin') },
    // ---- jobs ----
    { rule: 'jobs.list', transport: 'rest', operation: 'GET /v1/jobs',
      access: [...any('admin', 'researcher', 'auditor'), ...ownSiteList('site-steward', 'clinician')] },
    { rule: 'jobs.create', transport: 'rest', operation: 'POST /v1/jobs', access: any('admin', 'researcher') },
    { rule: 'jobs.read', transport: 'rest', operation: 'GET /v1/jobs/:id', target: 'job-param',
      access: [...any('admin', 'researcher', 'auditor'), ...ownSite('site-steward', 'clinician')] },
    { rule: 'jobs.stop', transport: 'rest', operation: 'POST /v1/jobs/:id/stop', access: any('admin', 'researcher') },
    { rule: 'jobs.sites.add', transport: 'rest', operation: 'POST /v1/jobs/:id/sites', access: any('admin', 'researcher') },
    { rule: 'jobs.sites.remove', transport: 'rest', operation: 'DELETE /v1/jobs/:id/sites/:site', access: any('admin', 'researcher') },
    { rule: 'jobs.key-ceremony', transport: 'rest', operation: 'POST /v1/jobs/:id/key-ceremony', access: any('admin', 'researcher') },
    { rule: 'jobs.keys.read', transport: 'rest', operation: 'GET /v1/jobs/:id/keys', target: 'job-param',
      access: [...any('admin', 'researcher', 'auditor'), ...ownSite('site-steward')] },
    { rule: 'jobs.admit-trainer', transport: 'rest', operation: 'POST /v1/jobs/:id/trainers', access: any('admin') },
    { rule: 'jobs.overview', transport: 'rest', operation: 'GET /v1/jobs/:id/overview', target: 'job-param',
      access: [...any('admin', 'researcher', 'auditor'), ...ownSite('site-steward', 'clinician')] },
    { rule: 'jobs.events', transport: 'rest', operation: 'GET /v1/jobs/:id/events', target: 'job-param',
      access: [...any('admin', 'researcher', 'auditor'), ...ownSite('site-steward', 'clinician')] },
    // ---- federated statistics (docs/statistics.md): results masked by role in the handler ----
    { rule: 'stats.submit', transport: 'rest', operation: 'POST /v1/stats/queries', access: any('admin', 'researcher') },
    { rule: 'stats.read', transport: 'rest', operation: 'GET /v1/stats/queries/:id', target: 'job-param',
      access: [...any('admin', 'researcher', 'auditor'), ...ownSite('site-steward', 'clinician')] },
    // ---- audit trail ----
    { rule: 'audit.events', transport: 'rest', operation: 'GET /v1/audit/events', access: any('admin', 'auditor') },
    // ---- operations: the dashboard's pages (no data in them), the API description, metrics ----
    { rule: 'ui.redirect', transport: 'rest', operation: 'GET /ui', access: 'public' },
    { rule: 'ui.page', transport: 'rest', operation: 'GET /ui/', access: 'public' },
    { rule: 'ui.settings', transport: 'rest', operation: 'GET /ui/settings.json', access: 'public' },
    { rule: 'ui.assets', transport: 'rest', operation: 'GET /ui/*', access: 'public' },
    { rule: 'openapi.read', transport: 'rest', operation: 'GET /openapi.json', access: 'public' },
    { rule: 'metrics.read', transport: 'rest', operation: 'GET /metrics', access: 'public' },
    // ---- published artifacts and the transparency log ----
    { rule: 'artifacts.list', transport: 'rest', operation: 'GET /v1/jobs/:id/artifacts', target: 'job-param',
      access: [...any('admin', 'researcher', 'auditor'), ...ownSite('site-steward')] },
    { rule: 'artifacts.evidence', transport: 'rest', operation: 'GET /v1/jobs/:id/artifacts/:model/evidence', target: 'job-param',
      access: [...any('admin', 'researcher', 'auditor'), ...ownSite('site-steward')] },
    { rule: 'artifacts.blob', transport: 'rest', operation: 'GET /v1/jobs/:id/artifacts/:model/blob', target: 'job-param',
      access: [...any('admin', 'researcher', 'auditor'), ...ownSite('site-steward')] },
    { rule: 'log.checkpoint', transport: 'rest', operation: 'GET /v1/log/checkpoint', access: any('admin', 'site-steward', 'researcher', 'auditor') },
    { rule: 'log.proof.inclusion', transport: 'rest', operation: 'GET /v1/log/proofs/inclusion', access: any('admin', 'site-steward', 'researcher', 'auditor') },
    { rule: 'log.proof.consistency', transport: 'rest', operation: 'GET /v1/log/proofs/consistency', access: any('admin', 'site-steward', 'researcher', 'auditor') },
    // ---- trust anchors sites pin (docs/trust.md) and certificate expiry ----
    { rule: 'trust.anchors', transport: 'rest', operation: 'GET /v1/trust/anchors', access: any('admin', 'site-steward', 'researcher', 'auditor') },
    { rule: 'trust.expiry', transport: 'rest', operation: 'GET /v1/trust/expiry', access: any('admin', 'auditor') },
    // ---- model releases (docs/releases.md); approvals are checked per site and role by the workflow ----
    { rule: 'releases.request', transport: 'rest', operation: 'POST /v1/jobs/:id/releases', access: any('admin', 'researcher') },
    { rule: 'releases.approve', transport: 'rest', operation: 'POST /v1/releases/:id/approvals', access: any('site-steward', 'auditor') },
    // The workflow also checks that the caller is the requester (or an admin).
    { rule: 'releases.cancel', transport: 'rest', operation: 'POST /v1/releases/:id/cancel', access: any('admin', 'researcher') },
    { rule: 'releases.list', transport: 'rest', operation: 'GET /v1/releases',
      access: [...any('admin', 'researcher', 'auditor'), ...ownSiteList('site-steward')] },
    { rule: 'releases.read', transport: 'rest', operation: 'GET /v1/releases/:id', access: any('admin', 'researcher', 'auditor', 'site-steward') },
    // ---- the audit trail ----
    { rule: 'audit.export', transport: 'rest', operation: 'GET /v1/audit/export', access: any('auditor') },
    // Admin, not auditor: whoever reviews the trail must not be able to remove any of it (separation of
    // duties). The purge leaves a signed anchor and its own event, which the auditor then reviews.
    // Inside retention it also needs the stewards' signed approvals, checked by the route (docs/governance.md).
    { rule: 'audit.purge', transport: 'rest', operation: 'POST /v1/audit/purge', access: any('admin') },
    // ---- the consortium's rule (docs/governance.md): the roster is installed by the admin, but only as
    // every listed steward signed it, and replaced only with a majority of the installed stewards' approvals ----
    { rule: 'governance.roster.install', transport: 'rest', operation: 'POST /v1/governance/roster', access: any('admin') },
    { rule: 'governance.roster.read', transport: 'rest', operation: 'GET /v1/governance/roster', access: any('admin', 'auditor') },
    // ---- administration ----
    { rule: 'admin.api-keys.create', transport: 'rest', operation: 'POST /v1/admin/api-keys', access: any('admin') },
    { rule: 'admin.api-keys.list', transport: 'rest', operation: 'GET /v1/admin/api-keys', access: any('admin', 'auditor') },
    { rule: 'admin.api-keys.revoke', transport: 'rest', operation: 'DELETE /v1/admin/api-keys/:id', access: any('admin') },
    { rule: 'admin.signing-keys.rotate', transport: 'rest', operation: 'POST /v1/admin/signing-keys/rotate', access: any('admin') },
    // ---- a request for no route: authenticated callers learn it does not exist, others do not ----
    { rule: 'rest.not-found', transport: 'rest', operation: REST_NOT_FOUND,
      access: any('admin', 'site-steward', 'researcher', 'clinician', 'auditor', 'node') },

    // ---- gRPC: agents act only for their own site ----
    { rule: 'node.enroll-key', transport: 'grpc', operation: `${F}/EnrollKey`, access: 'public' },
    { rule: 'node.token', transport: 'grpc', operation: `${F}/IssueToken`, access: 'public' },
    { rule: 'node.rotate-key', transport: 'grpc', operation: `${F}/RotateKey`, target: 'message-site', access: ownSite('node') },
    { rule: 'node.announce', transport: 'grpc', operation: `${F}/Enroll`, target: 'message-site', access: ownSite('node') },
    { rule: 'node.heartbeat', transport: 'grpc', operation: `${F}/Heartbeat`, target: 'message-site', access: ownSite('node') },
    { rule: 'node.poll', transport: 'grpc', operation: `${F}/PollTask`, target: 'message-site', access: ownSite('node') },
    { rule: 'node.download-model', transport: 'grpc', operation: `${F}/DownloadModel`, target: 'message-site', access: ownSite('node') },
    { rule: 'node.submit-update', transport: 'grpc', operation: `${F}/SubmitUpdate`, target: 'update-header-site', access: ownSite('node') },
    { rule: 'node.report-metrics', transport: 'grpc', operation: `${F}/ReportMetrics`, target: 'message-site', access: ownSite('node') },
    { rule: 'node.report-job-approval', transport: 'grpc', operation: `${F}/ReportJobApproval`, target: 'message-site', access: ownSite('node') },
    { rule: 'node.key-ceremony.sign', transport: 'grpc', operation: `${F}/SubmitSiteListSignature`, target: 'message-site', access: ownSite('node') },
    { rule: 'node.key-ceremony.keys', transport: 'grpc', operation: `${F}/SubmitKeyMaterial`, target: 'message-site', access: ownSite('node') },
    { rule: 'node.key-ceremony.fetch', transport: 'grpc', operation: `${F}/FetchJobKey`, target: 'message-site', access: ownSite('node') },
    { rule: 'node.key-release.nonce', transport: 'grpc', operation: `${F}/RequestKeyReleaseNonce`, target: 'message-site', access: ownSite('node') },
    { rule: 'node.stats.publish', transport: 'grpc', operation: `${F}/PublishStatsResult`, target: 'message-site', access: ownSite('node') },
    { rule: 'node.witness.cosign', transport: 'grpc', operation: `${F}/SubmitCosignature`, target: 'message-site', access: ownSite('node') },
    { rule: 'node.release.submit', transport: 'grpc', operation: `${F}/SubmitRelease`, target: 'update-header-site', access: ownSite('node') },
    { rule: 'grpc-health.check', transport: 'grpc', operation: `${H}/Check`, access: 'public' },
    { rule: 'grpc-health.watch', transport: 'grpc', operation: `${H}/Watch`, access: 'public' },
    { rule: 'grpc-health.list', transport: 'grpc', operation: `${H}/List`, access: 'public' },
  ],
};

/** Entries by `transport operation`, for O(1) lookups on every request. */
export function indexPolicy(policy: Policy): ReadonlyMap<string, PolicyEntry> {
  const index = new Map<string, PolicyEntry>();
  for (const e of policy.entries) {
    const key = `${e.transport} ${e.operation}`;
    if (index.has(key)) throw new Error(`policy version ${policy.version} lists ${key} twice`);
    index.set(key, e);
  }
  return index;
}
