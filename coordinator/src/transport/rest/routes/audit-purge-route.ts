import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { STEWARD_APPROVAL_MAX_BYTES } from '@medfed/proto/governance/index';
import { AUDIT_RETENTION_ROLE, purgeAuditEntries } from '../../../audit/store/purge.js';
import { authorizeAuditPurge } from '../../../governance/purge-authorization.js';
import { principalOf } from '../../../auth/rest/request-context.js';
import type { PublishingRouteDeps } from './publishing-deps.js';

export const AuditPurgeBody = Type.Object({
  before: Type.String({ format: 'date-time', description: 'purge entries older than this instant (and every entry before them in the chain)' }),
  force: Type.Optional(Type.Boolean({ description: 'cut inside the retention period: needs `approvals`; recorded as RETENTION_OVERRIDE' })),
  approvals: Type.Optional(Type.Array(Type.String({ maxLength: STEWARD_APPROVAL_MAX_BYTES }), {
    maxItems: 256,
    description: "signed approvals (step audit-purge) by a majority of the consortium roster's stewards, or of its auditors (docs/governance.md)",
  })),
}, { additionalProperties: false });

const AuditPurgeAnswer = Type.Object({
  purged: Type.Integer({ minimum: 0 }),
  throughSeq: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
  hash: Type.Union([Type.String(), Type.Null()]),
  anchor: Type.Union([Type.String({ description: 'the signed truncation anchor (compact JWS)' }), Type.Null()]),
  retentionDays: Type.Integer(),
  signers: Type.Array(Type.String(), { description: 'who approved a cut inside retention (steward:<site>, auditor:<id>); empty otherwise' }),
});

/**
 * POST /v1/audit/purge {before, force?, approvals?}: the retention purge (admin only; see
 * docs/compliance.md for why not the auditor). Entries before `before` go; a truncation anchor
 * signed with the audit key stays, so the rest of the chain and any later export verify from it.
 * Inside the retention period (the longest of the code minimum, `audit.retentionDays` and the
 * roster's rule) it also needs the hospitals' signed approvals (docs/governance.md). The purge is an
 * audit event itself, in the same transaction; so is its refusal for want of approvals.
 */
export function registerAuditPurgeRoute(app: FastifyInstance, deps: PublishingRouteDeps & { readonly retentionDays?: number | undefined }): void {
  app.post('/v1/audit/purge', {
    schema: { summary: 'Purge audit entries past retention, leaving a signed truncation anchor (admin; inside retention with signed approvals)', body: AuditPurgeBody, response: { 200: AuditPurgeAnswer } },
  }, async (req) => {
    const body = req.body as { before: string; force?: boolean; approvals?: string[] };
    const p = principalOf(req);
    const by = { actor: p.sub, role: p.role, rule: req.auditScope?.rule ?? 'retention:hipaa-164.316', requestId: String(req.id) };
    const now = new Date();
    const before = new Date(body.before);
    const { retentionDays, approval } = await authorizeAuditPurge(deps.db, {
      before, force: body.force === true, approvals: body.approvals ?? [], configuredRetentionDays: deps.retentionDays, by, now,
    });
    const result = await purgeAuditEntries(deps.db, {
      role: AUDIT_RETENTION_ROLE, actor: p.sub, actorRole: p.role, rule: req.auditScope?.rule ?? undefined, requestId: String(req.id),
      before, force: body.force === true, retentionDays, signer: deps.publisher.signAuditManifest, approval, now,
    });
    return {
      purged: result?.purged ?? 0, throughSeq: result?.throughSeq ?? null, hash: result?.hash ?? null, anchor: result?.jws ?? null, retentionDays,
      signers: [...(approval?.signers ?? [])],
    };
  });
}
