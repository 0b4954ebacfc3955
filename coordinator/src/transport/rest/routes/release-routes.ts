import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { listScope, principalOf } from '../../../auth/rest/request-context.js';
import type { Actor } from '../../../federation/audit-recorder.js';
import { ReleaseError } from '../../../releases/errors.js';
import type { ReleaseService } from '../../../releases/release-service.js';
import { RELEASE_STATES, type ReleaseState } from '../../../releases/state-machine.js';
import type { ReleaseView } from '../../../releases/release-view.js';

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });
const Loose = Type.Object({}, { additionalProperties: true });
const RequestBody = Type.Object({
  round: Type.Integer({ minimum: 1, description: 'the closed training round whose global model is released' }),
  reason: Type.String({ minLength: 1, maxLength: 500, description: 'why the plaintext model leaves the sites (recorded)' }),
}, { additionalProperties: false });
const CancelBody = Type.Object({
  reason: Type.String({ minLength: 1, maxLength: 500, description: 'why the release is cancelled (recorded with it)' }),
}, { additionalProperties: false });
const ApproveBody = Type.Object({
  approval: Type.Optional(Type.String({
    maxLength: 8192,
    description: "a site steward's signed approval: a compact JWS (typ medfed-steward-approval+jws) made with its site's steward key by medfed agent approve-release; absent for the compliance role",
  })),
}, { additionalProperties: false });
const ListQuery = Type.Object({
  state: Type.Optional(Type.Union([...RELEASE_STATES, 'all'].map((s) => Type.Literal(s)), { description: 'default: released (the registry)' })),
  job: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
}, { additionalProperties: false });
const Release = Type.Object({
  id: Type.String(), job: Type.String(), round: Type.Integer(), state: Type.String(), reason: Type.String(), requestedBy: Type.String(),
  quorum: Loose, approvals: Type.Array(Loose), sitesApproved: Type.Array(Type.String()), complianceApprovals: Type.Integer(), quorumReached: Type.Boolean(),
  inputModelId: Type.String(), inputSha256: Type.String(),
  decryptingSite: Type.Union([Type.String(), Type.Null()]), countersigningSite: Type.Union([Type.String(), Type.Null()]),
  sha256: Type.Union([Type.String(), Type.Null()]), byteSize: Type.Union([Type.Integer(), Type.Null()]), statements: Loose,
  modelId: Type.Union([Type.String(), Type.Null()]), manifestDigest: Type.Union([Type.String(), Type.Null()]), leafIndex: Type.Union([Type.Integer(), Type.Null()]),
  failure: Type.Union([Loose, Type.Null()]),
  stepDeadline: Type.Union([Type.String({ format: 'date-time', description: 'when the site step now owed is due' }), Type.Null()]),
  missedSteps: Type.Array(Type.Object({ step: Type.String(), site: Type.String() }), { description: 'sites that missed a step deadline; the step moved on' }),
  cancelledBy: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }), updatedAt: Type.String({ format: 'date-time' }),
}, { additionalProperties: true });

function actorOf(req: FastifyRequest): Actor {
  const p = principalOf(req);
  return { actor: p.sub, role: p.role, site: p.site, requestId: String(req.id) };
}

/** A site steward sees the releases of the jobs its site takes part in; others see every release. */
function visible(req: FastifyRequest, r: ReleaseView): boolean {
  const scope = listScope(req);
  return scope === null || r.quorum.sites.includes(scope);
}

/**
 * The release workflow over REST (docs/releases.md): a researcher or an admin requests the release
 * of a round's model, site stewards (each with its site's signature) and the compliance role approve it, its requester or an admin
 * may cancel it while it is pending, and everyone with access reads the registry of released models. The sites' steps (decrypt, countersign) go over gRPC.
 */
export function registerReleaseRoutes(app: FastifyInstance, releases: ReleaseService): void {
  app.register(async (api) => {
    api.post('/jobs/:id/releases', {
      schema: { summary: 'Request the release of a round\'s global model as a plaintext model', params: IdParams, body: RequestBody, response: { 201: Release } },
    }, async (req, reply) => {
      const { id } = req.params as { id: string };
      const body = req.body as { round: number; reason: string };
      return reply.status(201).send(await releases.request(id, body.round, body.reason, actorOf(req)));
    });

    api.post('/releases/:id/approvals', {
      schema: { summary: "Approve a release: a site steward for its own site, with its site's signed approval, or the compliance role (auditor)", params: IdParams, body: ApproveBody, response: { 200: Release } },
    }, async (req) => {
      const { id } = req.params as { id: string };
      return releases.approve(id, actorOf(req), (req.body ?? {}) as { approval?: string });
    });

    api.post('/releases/:id/cancel', {
      schema: { summary: 'Cancel a pending release (its requester or an admin): no site step afterwards, an uploaded plaintext is deleted', params: IdParams, body: CancelBody, response: { 200: Release } },
    }, async (req) => {
      const { id } = req.params as { id: string };
      return releases.cancel(id, (req.body as { reason: string }).reason, actorOf(req));
    });

    api.get('/releases', {
      schema: { summary: 'The registry of released models (or releases in any state with ?state=)', querystring: ListQuery, response: { 200: Type.Object({ releases: Type.Array(Release) }) } },
    }, async (req) => {
      const q = req.query as { state?: ReleaseState | 'all'; job?: string };
      const list = await releases.list({ ...(q.state ? { state: q.state } : {}), ...(q.job ? { job: q.job } : {}) });
      return { releases: list.filter((r) => visible(req, r)) };
    });

    api.get('/releases/:id', {
      schema: { summary: 'One release: state, approvals, sites, digests, statements, manifest and log leaf', params: IdParams, response: { 200: Release } },
    }, async (req) => {
      const { id } = req.params as { id: string };
      const release = await releases.get(id);
      if (!visible(req, release)) throw new ReleaseError('RELEASE_UNKNOWN', `no release "${id}" exists`);
      return release;
    });
  }, { prefix: '/v1' });
}
