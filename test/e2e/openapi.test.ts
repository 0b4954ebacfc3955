import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { openApiPath as toOpenApiPath } from '../../coordinator/src/transport/rest/openapi.js';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';

type Operation = {
  parameters?: { in: string; name: string; schema?: unknown }[];
  requestBody?: { content: Record<string, { schema?: unknown }> };
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
};


describe('operational routes: /openapi.json and /metrics', () => {
  let t: TestCoordinator;
  let doc: { openapi: string; paths: Record<string, Record<string, Operation>> };

  beforeAll(async () => {
    t = await startTestCoordinator('pglite');
    const res = await fetch(`${t.coordinator.rest}/openapi.json`); // no token: open by default
    expect(res.status).toBe(200);
    doc = await res.json() as typeof doc;
  });
  afterAll(async () => t.stop());

  it('describes every served REST route with request and response schemas', () => {
    expect(doc.openapi).toMatch(/^3\./);
    const routes = t.coordinator.served.rest.filter((r) => r.method !== 'HEAD');
    expect(routes.length).toBeGreaterThan(20);
    const missing: string[] = [];
    for (const r of routes) {
      const op = doc.paths[toOpenApiPath(r.url)]?.[r.method.toLowerCase()];
      if (!op) { missing.push(`${r.method} ${r.url}: not in the document`); continue; }
      const ok = Object.entries(op.responses).filter(([status]) => /^[23]/.test(status));
      if (ok.length === 0) missing.push(`${r.method} ${r.url}: no success response`);
      if (!ok.every(([, resp]) => Object.values(resp.content ?? { none: {} }).every((c) => c.schema !== undefined) || resp.content === undefined)) {
        missing.push(`${r.method} ${r.url}: a success response without a schema`);
      }
      if (ok.some(([status, resp]) => status.startsWith('2') && !resp.content)) missing.push(`${r.method} ${r.url}: 2xx without content schema`);
      for (const name of [...r.url.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1])) {
        if (!op.parameters?.some((p) => p.in === 'path' && p.name === name && p.schema)) missing.push(`${r.method} ${r.url}: path parameter ${name} undocumented`);
      }
      if (['POST', 'PUT', 'PATCH'].includes(r.method) && !op.requestBody?.content['application/json']?.schema) {
        missing.push(`${r.method} ${r.url}: no request body schema`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('answers /metrics without a token in Prometheus format (site series only with a credential), and the counters move', async () => {
    const before = await (await fetch(`${t.coordinator.rest}/metrics`)).text();
    expect(before).toMatch(/^# HELP medfed_/m);
    await fetch(`${t.coordinator.rest}/v1/jobs`); // no credential: one denial
    await fetch(`${t.coordinator.rest}/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: 'mfk_nope_nope' }) });
    await t.coordinator.engine.registerSite('site-m', 'site-m');
    await t.coordinator.engine.enroll('site-m', 'test-1', 'digest');
    const res = await fetch(`${t.coordinator.rest}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/medfed_authz_denials_total\{transport="rest",rule="jobs.list",code="AUTH_CREDENTIAL_MISSING"\} [1-9]/);
    expect(text).toMatch(/medfed_tokens_issued_total\{grant="api_key",outcome="refused"\} 1/);
    expect(text).not.toContain('site-m'); // an anonymous scrape names no site
    const admin = String((await (await fetch(`${t.coordinator.rest}/v1/auth/token`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: t.coordinator.adminKey }),
    })).json() as { access_token: string }).access_token);
    const identified = await (await fetch(`${t.coordinator.rest}/metrics`, { headers: { authorization: `Bearer ${admin}` } })).text();
    const seen = /medfed_site_last_seen_timestamp_seconds\{site="site-m"\} (\d+)/.exec(identified);
    expect(Math.abs(Number(seen?.[1]) - Date.now() / 1000)).toBeLessThan(60);
    expect(text).toContain('# TYPE medfed_aggregation_seconds histogram');
    expect(text).toMatch(/medfed_submission_bytes 0/);
  });

  it('keeps every other route closed without a token', async () => {
    for (const path of ['/v1/jobs', '/v1/audit/events', '/v1/jobs/x/overview', '/v1/jobs/x/events']) {
      expect((await fetch(`${t.coordinator.rest}${path}`)).status).toBe(401);
    }
  });
});
