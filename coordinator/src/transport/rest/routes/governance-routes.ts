import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { GovernanceError, STEWARD_APPROVAL_MAX_BYTES } from '@medfed/proto/governance/index';
import { principalOf } from '../../../auth/rest/request-context.js';
import { installRoster } from '../../../governance/install-roster.js';
import { effectiveRetentionDays } from '../../../governance/retention.js';
import { currentRoster } from '../../../governance/roster-store.js';
import type { Db } from '../../../storage/db.js';

const InstallBody = Type.Object({
  roster: Type.Unknown({ description: 'the consortium roster as every listed steward signed it (medfed agent roster)' }),
  approvals: Type.Optional(Type.Array(Type.String({ maxLength: STEWARD_APPROVAL_MAX_BYTES }), {
    maxItems: 256,
    description: "to replace the installed roster: approvals (step governance-rule) by a majority of the installed roster's stewards",
  })),
}, { additionalProperties: false });

const InstallAnswer = Type.Object({
  outcome: Type.Union([Type.Literal('installed'), Type.Literal('replaced'), Type.Literal('unchanged')]),
  consortium: Type.String(),
  version: Type.Integer({ minimum: 1 }),
  digest: Type.String({ description: "SHA-256 (hex) of the roster's signed bytes (RFC 8785 JSON without signatures)" }),
  acceptedAt: Type.String({ format: 'date-time' }),
  signers: Type.Array(Type.String(), { description: 'steward:<site>: who signed the first roster, or who approved the replacement' }),
});

const RosterAnswer = Type.Object({
  roster: Type.Unknown(),
  consortium: Type.String(),
  version: Type.Integer({ minimum: 1 }),
  digest: Type.String(),
  acceptedAt: Type.String({ format: 'date-time' }),
  approvals: Type.Array(Type.String()),
  auditRetentionDays: Type.Integer({ description: 'the retention in force: the longest of the code minimum, audit.retentionDays and the roster rule' }),
});

export interface GovernanceRouteDeps {
  readonly db: Db;
  /** `audit.retentionDays` as configured. */
  readonly retentionDays?: number | undefined;
}

/**
 * The consortium's rule on the coordinator (docs/governance.md): `POST /v1/governance/roster`
 * installs the steward-signed roster (a replacement with the approvals of a majority of the
 * installed roster's stewards); `GET /v1/governance/roster` returns the roster in force, verified
 * again, with its digest.
 */
export function registerGovernanceRoutes(app: FastifyInstance, deps: GovernanceRouteDeps): void {
  app.register(async (api) => {
    api.post('/governance/roster', {
      schema: { summary: 'Install the steward-signed consortium roster, or replace it with approvals of a majority of its stewards (admin)', body: InstallBody, response: { 200: InstallAnswer } },
    }, async (req) => {
      const body = req.body as { roster: unknown; approvals?: string[] };
      const p = principalOf(req);
      return installRoster(deps.db, {
        roster: body.roster, approvals: body.approvals ?? [],
        by: { actor: p.sub, role: p.role, rule: req.auditScope?.rule ?? 'governance:roster', requestId: String(req.id) },
      });
    });

    api.get('/governance/roster', {
      schema: { summary: 'The consortium roster in force, verified again, with its digest (admin, auditor)', response: { 200: RosterAnswer } },
    }, async () => {
      const installed = await currentRoster(deps.db);
      if (!installed) throw new GovernanceError('GOVERNANCE_ROSTER_MISSING', 'no consortium roster is installed on this coordinator (medfed governance roster install FILE)');
      return {
        roster: installed.roster, consortium: installed.roster.consortium, version: installed.roster.version, digest: installed.digest,
        acceptedAt: installed.acceptedAt, approvals: [...installed.approvals], auditRetentionDays: effectiveRetentionDays(deps.retentionDays, installed.roster),
      };
    });
  }, { prefix: '/v1' });
}
