import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import Type from 'typebox';
import type { AuthService } from '../../auth/auth-service.js';

/**
 * The dashboard at `/ui/`: hand-written HTML, CSS and JavaScript from `coordinator/src/ui`, served
 * as files. The pages hold no data; everything comes from the API with the viewer's own token, so
 * the pages are open while every data route stays under the policy. A strict Content-Security-Policy
 * keeps out any script, style or font from elsewhere and any inline script.
 */
export const UI_CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
  "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.json': 'application/json; charset=utf-8', '.ico': 'image/x-icon', '.png': 'image/png',
};

/** The asset folder: next to this module's source tree, from `src/` (tests, tsx) or `dist/` (built). */
export function uiRoot(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const candidates = [resolve(here, '../../ui'), resolve(here, '../../../src/ui')];
  return candidates.find((c) => existsSync(join(c, 'index.html'))) ?? candidates[0]!;
}

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', UI_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cross-origin-opener-policy', 'same-origin')
    .header('permissions-policy', 'camera=(), microphone=(), geolocation=()');
}

const AssetParams = Type.Object({ '*': Type.String({ maxLength: 200 }) });
const Html = { description: 'a dashboard asset (HTML, CSS, JavaScript)', content: { 'text/html': { schema: Type.String() } } };

export function registerUi(app: FastifyInstance, auth: AuthService, root = uiRoot()): void {
  const serve = async (reply: FastifyReply, name: string) => {
    const path = resolve(root, name);
    const type = TYPES[extname(path)];
    if (!path.startsWith(root + sep) || !type || name.split('/').some((p) => p.startsWith('.'))) {
      return secure(reply).status(404).send({ code: 'NOT_FOUND', message: `no dashboard file ${name}` });
    }
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch {
      return secure(reply).status(404).send({ code: 'NOT_FOUND', message: `no dashboard file ${name}` });
    }
    return secure(reply).header('content-type', type).header('cache-control', 'no-cache').send(bytes);
  };

  app.get('/ui', { schema: { summary: 'Redirects to /ui/', response: { 302: { description: 'to /ui/', type: 'null' } } } },
    async (_req, reply) => reply.redirect('/ui/'));
  app.get('/ui/', { schema: { summary: 'The dashboard (login page first)', response: { 200: Html } } },
    async (_req, reply) => serve(reply, 'index.html'));
  app.get('/ui/settings.json', {
    schema: {
      summary: 'What the dashboard needs before login: the automatic logoff period',
      response: { 200: Type.Object({ idleSeconds: Type.Integer(), personTokenSeconds: Type.Integer() }) },
    },
  }, async (_req, reply) => {
    secure(reply).header('cache-control', 'no-store');
    return { idleSeconds: auth.settings.sessionIdleSeconds, personTokenSeconds: auth.settings.personTokenSeconds };
  });
  app.get('/ui/*', { schema: { summary: 'Dashboard assets', params: AssetParams, response: { 200: Html } } },
    async (req, reply) => serve(reply, (req.params as { '*': string })['*']));
}
