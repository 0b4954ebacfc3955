import type { FastifyInstance } from 'fastify';
import { toHex } from '@medfed/proto/tlog/index';
import { answering, intParam, type PublishingRouteDeps } from './publishing-deps.js';

/**
 * The transparency log over REST: the latest signed checkpoint (with its cosignatures), inclusion
 * and consistency proofs. The manifest keys are also published beside the token keys in
 * /.well-known/jwks.json: the auth module owns that route, so its JSON is extended on the way out.
 */
export function registerLogRoutes(app: FastifyInstance, deps: PublishingRouteDeps): void {
  app.addHook('onSend', async (req, reply, payload) => {
    if (req.routeOptions.url !== '/.well-known/jwks.json' || reply.statusCode !== 200 || typeof payload !== 'string') return payload;
    const published = JSON.parse(payload) as { keys: { kid?: string }[] };
    const kids = new Set(published.keys.map((k) => k.kid));
    return JSON.stringify({ keys: [...published.keys, ...deps.publisher.jwks().keys.filter((k) => !kids.has(k.kid))] });
  });

  app.register(async (api) => {
    api.get('/log/checkpoint', async (_req, reply) => answering(reply, async () => {
      const c = (await deps.publisher.tlog.latestCheckpoint()) ?? (await deps.publisher.tlog.checkpoint());
      return { tree_size: c.size, checkpoint: c.note, log_key: deps.publisher.checkpointKey };
    }));

    api.get('/log/proofs/inclusion', async (req, reply) => answering(reply, async () => {
      const leafIndex = intParam(req.query, 'leaf_index', true)!;
      const treeSize = intParam(req.query, 'tree_size', false);
      const proof = await deps.publisher.tlog.inclusionProof(leafIndex, treeSize);
      return { leaf_index: proof.leafIndex, tree_size: proof.treeSize, hashes: proof.hashes.map(toHex) };
    }));

    api.get('/log/proofs/consistency', async (req, reply) => answering(reply, async () => {
      const from = intParam(req.query, 'from', true)!;
      const to = intParam(req.query, 'to', false) ?? (await deps.publisher.tlog.log.head()).size;
      const hashes = await deps.publisher.tlog.consistencyProof(from, to);
      return { from, to, hashes: hashes.map(toHex) };
    }));
  }, { prefix: '/v1' });
}
