import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { inclusionProofToJson } from '@medfed/proto/bundle/index';
import type { ModelRow } from '../../../federation/rows.js';
import { MODEL_KINDS } from '../../../publishing/artifact-kinds.js';
import { PublishingError } from '../../../publishing/errors.js';
import { answering, intParam, type PublishingRouteDeps } from './publishing-deps.js';

const JobParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });
const ArtifactParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }), model: Type.String({ minLength: 1, maxLength: 200 }) });

/**
 * A job's published artifacts, for export as an offline bundle (`medfed model export`): the list,
 * each artifact's evidence (manifest, checkpoint, inclusion proof, trusted keys) and its bytes.
 */
export function registerArtifactRoutes(app: FastifyInstance, deps: PublishingRouteDeps): void {
  app.register(async (api) => {
    api.get('/jobs/:id/artifacts', { schema: { params: JobParams } }, async (req, reply) => answering(reply, async () => {
      const { id } = req.params as { id: string };
      await deps.engine.job(id);
      const round = intParam(req.query, 'round', false);
      const kind = (req.query as Record<string, unknown>).kind;
      if (kind !== undefined && !(MODEL_KINDS as readonly unknown[]).includes(kind)) {
        throw new PublishingError('PUBLISH_QUERY_INVALID', `kind must be one of ${MODEL_KINDS.join(', ')}, not ${JSON.stringify(kind)}`);
      }
      const { rows } = await deps.db.query<ModelRow & { leaf_index: string | number | null; digest: string | null }>(
        `SELECT m.*, p.leaf_index, p.digest FROM models m LEFT JOIN model_manifests p ON p.model_id = m.id
         WHERE m.job_id = $1 AND ($2::int IS NULL OR m.round = $2) AND ($3::text IS NULL OR m.kind = $3) ORDER BY m.round, m.kind`,
        [id, round ?? null, kind ?? null]);
      return {
        artifacts: rows.map((m) => ({
          modelId: m.id, round: m.round, kind: m.kind, sha256: m.sha256, byteSize: Number(m.byte_size), encrypted: m.encrypted,
          manifestDigest: m.digest, leafIndex: m.leaf_index === null ? null : Number(m.leaf_index),
        })),
      };
    }));

    api.get('/jobs/:id/artifacts/:model/evidence', { schema: { params: ArtifactParams } }, async (req, reply) => answering(reply, async () => {
      const { id, model: modelId } = req.params as { id: string; model: string };
      const model = await deps.engine.model(id, modelId);
      const manifest = await deps.publisher.manifestOf(model.id);
      const parts = await deps.publisher.tlog.bundleParts({ model: new Uint8Array(0), manifestJws: manifest.jws, jwks: deps.publisher.jwks() });
      return {
        modelId: model.id, round: model.round, kind: model.kind, sha256: model.sha256, byteSize: Number(model.byte_size), encrypted: model.encrypted,
        manifestJws: parts.manifestJws, checkpoint: parts.checkpoint, inclusionProof: inclusionProofToJson(parts.inclusionProof),
        jwks: parts.jwks, checkpointKey: parts.checkpointVerifierKey,
      };
    }));

    api.get('/jobs/:id/artifacts/:model/blob', { schema: { params: ArtifactParams } }, async (req, reply) => answering(reply, async () => {
      const { id, model: modelId } = req.params as { id: string; model: string };
      const model = await deps.engine.model(id, modelId);
      const bytes = await deps.engine.modelBytes(model);
      return reply.header('content-type', 'application/octet-stream').header('x-medfed-sha256', model.sha256).send(bytes);
    }));
  }, { prefix: '/v1' });
}
