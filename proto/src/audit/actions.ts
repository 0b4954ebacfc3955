import type { AuditDetailKey } from './details.js';

/**
 * Every security-relevant action medfed records, as data. An action and the authorization decision
 * for it are one event: a refused request is the same action with outcome `denied` and the deciding
 * `rule`. `anomaly` marks actions a compliance report always lists for review.
 */
export type AuditCategory =
  | 'authentication' | 'enrollment' | 'access' | 'job' | 'round' | 'submission' | 'attestation'
  | 'sandbox' | 'key' | 'model' | 'privacy' | 'configuration' | 'audit';

export interface AuditActionSpec {
  readonly category: AuditCategory;
  readonly summary: string;
  readonly details: readonly AuditDetailKey[];
  readonly anomaly?: boolean;
}

export const AUDIT_ACTIONS = {
  'auth.token.issue': { category: 'authentication', summary: 'An access token was issued (or the request for one refused)', details: ['scope', 'expires_at', 'key_id', 'reason'] },
  'auth.session.logoff': { category: 'authentication', summary: 'A session ended: explicit or automatic logoff after inactivity', details: ['reason', 'idle_seconds'] },
  'trainer.admit': { category: 'configuration', summary: "A trainer build was admitted to a job's allowlist through the supply-chain gate (or refused)", details: ['job', 'sha256', 'reason'] },
  'site.register': { category: 'enrollment', summary: 'An operator registered a site (or the registration was refused)', details: ['reason'] },
  'site.enroll': { category: 'enrollment', summary: 'A site enrolled (or its enrollment was refused)', details: ['key_id', 'client_version', 'reason'] },
  'site.suspend': { category: 'enrollment', summary: 'A site was suspended or reinstated', details: ['reason'] },
  'api.access': { category: 'access', summary: 'A protected resource was read or a request was refused', details: ['method', 'route', 'status', 'job', 'reason'] },
  'job.create': { category: 'job', summary: 'A job was created', details: ['job', 'rounds', 'sites', 'sha256', 'encrypted', 'reason'] },
  'job.stop': { category: 'job', summary: 'A job was stopped by a user', details: ['job', 'reason'] },
  'job.complete': { category: 'job', summary: 'A job finished all its rounds', details: ['job', 'rounds'] },
  'job.fail': { category: 'job', summary: 'A job failed', details: ['job', 'reason'] },
  'job.site-approval': { category: 'job', summary: "A site's steward approved a job (spec digest, ethics or data-use reference), or the site refused an unapproved or changed job", details: ['job', 'sha256', 'ethics_ref', 'reason'] },
  'round.open': { category: 'round', summary: 'A round opened', details: ['job', 'round', 'kind', 'sites'] },
  'round.close': { category: 'round', summary: 'A round closed with an aggregate', details: ['job', 'round', 'kind', 'sites', 'sha256'] },
  'round.fail': { category: 'round', summary: 'A round failed (deadline, quorum or aggregation)', details: ['job', 'round', 'kind', 'reason'] },
  'submission.receive': { category: 'submission', summary: "A site's update was received (or refused), with its digest and, for an attested job, the attestation verdict", details: ['job', 'round', 'sha256', 'bytes', 'samples', 'reason', 'verdict', 'measurement', 'key_id', 'sandboxed'] },
  'submission.exclude': { category: 'submission', summary: "A stored update no longer matched its digest (or was gone) when the round aggregated: excluded, and the site asked to resend", details: ['job', 'round', 'site', 'sha256', 'reason'], anomaly: true },
  'attestation.verdict': { category: 'attestation', summary: "An attestation was judged (verdict pass or fail)", details: ['verdict', 'measurement', 'key_id', 'reason'], anomaly: true },
  'sandbox.breach': { category: 'sandbox', summary: 'A sandbox reported a breach attempt', details: ['job', 'round', 'reason'], anomaly: true },
  'key.ceremony': { category: 'key', summary: 'A key ceremony ran', details: ['ceremony', 'key_id', 'threshold', 'participants', 'reason'] },
  'key.ceremony.start': { category: 'key', summary: "A key epoch's ceremony started (job start, a site joined or left, or a rotation)", details: ['ceremony', 'job', 'sites', 'participants', 'reason'] },
  'job.sites.change': { category: 'job', summary: "A job's site list changed (a site joined or left); a new key epoch follows for encrypted jobs", details: ['job', 'site', 'sites', 'reason'] },
  'key.release': { category: 'key', summary: 'A key (or key share) was released (or its release refused), with the verdict on the attestation that asked for it', details: ['key_id', 'job', 'verdict', 'measurement', 'reason'] },
  'model.release': { category: 'model', summary: 'A model was released', details: ['job', 'round', 'model', 'sha256', 'reason'] },
  'release.request': { category: 'model', summary: 'The release of a plaintext model was requested', details: ['job', 'round', 'sites', 'reason'] },
  'release.approve': { category: 'model', summary: 'A site steward or the compliance role approved a model release (or the approval was refused)', details: ['job', 'round', 'site', 'reason'] },
  'release.decrypt': { category: 'model', summary: 'A site decrypted a model for release and uploaded it with its signed statement', details: ['job', 'round', 'site', 'sha256', 'bytes', 'reason'] },
  'release.countersign': { category: 'model', summary: 'A second site reproduced the decryption and countersigned (or contradicted) the digest', details: ['job', 'round', 'site', 'sha256', 'reason'] },
  'release.cancel': { category: 'model', summary: 'The requester or an admin cancelled a pending model release (or the cancellation was refused)', details: ['job', 'round', 'reason'] },
  'release.reassign': { category: 'model', summary: "A site missed a release step's deadline: the step went to the next key holder, or the release failed when none was left", details: ['job', 'round', 'site', 'sites', 'reason'] },
  'model.download': { category: 'model', summary: 'A released model was downloaded', details: ['job', 'model', 'sha256', 'bytes', 'reason'] },
  'stats.query.submit': { category: 'job', summary: 'A federated statistics query was submitted (or refused)', details: ['job', 'sites', 'sha256', 'encrypted', 'epsilon', 'reason'] },
  'stats.answer': { category: 'submission', summary: "A site answered a statistics query (its encrypted per-group sums) or refused it, with the reason", details: ['job', 'site', 'sha256', 'reason'] },
  'stats.publish': { category: 'model', summary: "A site published a statistics result signed by its node key; the coordinator verified and stored it", details: ['job', 'site', 'sha256', 'sites', 'reason'] },
  'stats.publish.handover': { category: 'job', summary: 'The publish task of a statistics query passed to the next site that answered, the previous one having missed its deadline', details: ['job', 'site', 'reason'] },
  'privacy.spend': { category: 'privacy', summary: "Privacy budget was spent (a site's ledger charged a job round)", details: ['job', 'round', 'dataset', 'epsilon', 'delta', 'epsilon_total', 'epsilon_budget', 'epsilon_remaining', 'mechanism', 'reason'] },
  'config.change': { category: 'configuration', summary: 'A configuration setting changed', details: ['setting', 'old_sha256', 'new_sha256', 'reason'] },
  'audit.export': { category: 'audit', summary: 'The audit trail was exported', details: ['from', 'to', 'job', 'site', 'format', 'reason'] },
  'audit.purge': { category: 'audit', summary: 'Audit entries were purged, leaving a signed truncation anchor (inside the retention period only with the signed approvals the consortium roster requires), or the purge was refused', details: ['through_seq', 'count', 'before', 'reason', 'consortium', 'version', 'sha256', 'signers', 'approvals'] },
  'governance.roster.install': { category: 'configuration', summary: "The first consortium roster (who decides, and the rules) was installed on the coordinator, signed by every listed site's steward, or its installation was refused", details: ['consortium', 'version', 'sha256', 'signers', 'reason'], anomaly: true },
  'governance.roster.replace': { category: 'configuration', summary: "A new roster version replaced the installed one with the signed approvals of a majority of the installed roster's stewards, or the replacement was refused", details: ['consortium', 'version', 'sha256', 'old_sha256', 'signers', 'reason'], anomaly: true },
} as const satisfies Readonly<Record<string, AuditActionSpec>>;

export type AuditAction = keyof typeof AUDIT_ACTIONS;

export function isAuditAction(name: string): name is AuditAction {
  return Object.hasOwn(AUDIT_ACTIONS, name);
}

export function auditActionSpec(name: string): AuditActionSpec | undefined {
  return isAuditAction(name) ? AUDIT_ACTIONS[name] : undefined;
}
