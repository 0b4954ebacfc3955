import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { AUDIT_MIN_RETENTION_DAYS, AUDIT_RETENTION_ROLE, purgeAuditEntries } from '../../../audit/store/purge.js';
import { principalOf } from '../../../auth/rest/request-context.js';
import type { PublishingRouteDeps } from './publishing-deps.js';

export const AuditPurgeBody = Type.Object({
  before: Type.String({ format: 'date-time', description: 'purge entries older than this instant (and every entry before them in the chain)' }),
  force: Type.Optional(Type.Boolean({ description: 'cut newer than the configured retention; recorded as RETENTION_OVERRIDE' })),
}, { additionalProperties: false });

const AuditPurgeAnswer = Type.Object({
  purged: Type.Integer({ minimum: 0 }),
  throughSeq: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
  hash: Type.Union([Type.String(), Type.Null()]),
  anchor: Type.Union([Type.String({ description: 'the signed truncation anchor (compact JWS)' }), Type.Null()]),
  retentionDays: Type.Integer(),
});

/**
 * POST /v1/audit/purge {before, force?}: the retention purge (admin only; see docs/compliance.md for
 * why not the auditor). Entries before `before` go; a truncation anchor signed with the audit key
 * stays, so the rest of the chain and any later export verify from it. The purge is an audit event
 * itself, in the same transaction.
 */
export function registerAuditPurgeRoute(app: FastifyInstance, deps: PublishingRouteDeps & { readonly retentionDays?: number | undefined }): void {
  const retentionDays = Math.max(deps.retentionDays ?? AUDIT_MIN_RETENTION_DAYS, AUDIT_MIN_RETENTION_DAYS);
  app.post('/v1/audit/purge', {
    schema: { summary: 'Purge audit entries past retention, leaving a signed truncation anchor (admin)', body: AuditPurgeBody, response: { 200: AuditPurgeAnswer } },
  }, async (req) => {
    const body = req.body as { before: string; force?: boolean };
    const p = principalOf(req);
    const result = await purgeAuditEntries(deps.db, {
      role: AUDIT_RETENTION_ROLE, actor: p.sub, actorRole: p.role, rule: req.auditScope?.rule ?? undefined, requestId: String(req.id),
      before: new Date(body.before), force: body.force === true, retentionDays, signer: deps.publisher.signAuditManifest,
    });
    return { purged: result?.purged ?? 0, throughSeq: result?.throughSeq ?? null, hash: result?.hash ?? null, anchor: result?.jws ?? null, retentionDays };
  });
}
