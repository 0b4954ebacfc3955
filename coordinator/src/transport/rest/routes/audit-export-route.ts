import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { exportAuditBundle } from '../../../audit/export/build-bundle.js';
import { auditTlogEvidence } from '../../../publishing/audit-evidence.js';
import { principalOf } from '../../../auth/rest/request-context.js';
import { answering, type PublishingRouteDeps } from './publishing-deps.js';

/**
 * GET /v1/audit/export?from&to&job&site: the signed compliance bundle (tar.gz) with the
 * transparency-log evidence of its anchors. The export is itself an audit event, recorded before
 * anything is read. The bundle is built in a private temporary directory and then streamed, so a
 * failure answers with an error instead of a truncated archive.
 */
export function registerAuditExportRoute(app: FastifyInstance, deps: PublishingRouteDeps): void {
  app.get('/v1/audit/export', async (req, reply) => answering(reply, async () => {
    const q = req.query as Record<string, string | undefined>;
    const p = principalOf(req);
    await deps.anchorer?.anchorNow();
    const dir = await mkdtemp(join(tmpdir(), 'medfed-audit-export-'));
    const file = join(dir, 'audit.tar.gz');
    try {
      const keys = deps.publisher.jwks();
      await exportAuditBundle(deps.db, {
        filter: { from: q.from, to: q.to, job: q.job, site: q.site },
        out: file,
        signer: deps.publisher.signAuditManifest,
        jwks: { keys: keys.keys.map((k) => ({ ...k })) },
        requestedBy: { actor: p.sub, role: p.role, site: p.site, requestId: String(req.id), rule: 'audit.export' },
        tlogEvidence: auditTlogEvidence(deps.publisher.tlog),
      });
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    const stream = createReadStream(file);
    stream.once('close', () => void rm(dir, { recursive: true, force: true }));
    return reply
      .header('content-type', 'application/gzip')
      .header('content-disposition', 'attachment; filename="medfed-audit.tar.gz"')
      .send(stream);
  }));
}
