import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createPublicKey } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createVerifier } from 'fast-jwt';
import { service as healthService } from 'grpc-health-check';
import { FederationService } from '@medfed/proto';
import { createClientAssertion, createDpopProof } from '@medfed/proto/auth/index';
import { loadCoordinatorConfig, startCoordinator } from '@medfed/coordinator';
import { POLICY, REST_NOT_FOUND, type AuthDecision } from '@medfed/coordinator/auth/index';
import { writeDevCa, type DevCaFiles } from '@medfed/coordinator/keys/index';
import { CoordinatorClient } from '@medfed/node-agent/transport/client';
import { enrollAgent, loadAgentIdentity } from '@medfed/node-agent/identity/index';
import { personToken, rest } from '../../coordinator/test/auth/support.js';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';

/** HTTPS with a pinned CA (fetch cannot take one). */
function https(url: string, ca: Buffer, method = 'GET', body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(url, { method, ca, headers: { ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || '{}') as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

describe('tokens verify independently, over TLS, across signing-key rotation', () => {
  let t: TestCoordinator;
  let tls: DevCaFiles;
  let ca: Buffer;

  beforeAll(async () => {
    tls = await writeDevCa(await mkdtemp(join(tmpdir(), 'medfed-tls-')), ['localhost', '127.0.0.1']);
    ca = await readFile(tls.caCert);
    t = await startTestCoordinator('pglite', { 'tls.cert': tls.serverCert, 'tls.key': tls.serverKey, 'auth.allowAnonymousNodes': false });
    await t.coordinator.engine.registerSite('site-a', 'site-a');
  });
  afterAll(async () => {
    await t.stop();
  });

  it('serves REST over https and gRPC over TLS, and nothing in clear text', async () => {
    const c = t.coordinator;
    expect(c.rest.startsWith('https://')).toBe(true);
    expect((await https(`${c.rest}/healthz`, ca)).body).toEqual({ status: 'ok' });
    await expect(fetch(c.rest.replace('https:', 'http:') + '/healthz')).rejects.toThrow();
    const plain = new CoordinatorClient(c.grpc, grpc.credentials.createInsecure());
    await expect(plain.pollTask('site-a', 0)).rejects.toMatchObject({ code: 'COORDINATOR_UNAVAILABLE' });
    plain.close();
  });

  it('issues tokens that fast-jwt verifies against the published JWKS, none living over 900 s, through a key rotation', async () => {
    const c = t.coordinator;
    const tokens: string[] = [];
    // A person: API key login and a session refresh.
    const person = await https(`${c.rest}/v1/auth/token`, ca, 'POST', { api_key: (await personToken(c, 'researcher')).apiKey });
    tokens.push(String(person.body.access_token));
    const refreshed = await https(`${c.rest}/v1/auth/token`, ca, 'POST', { refresh: true }, { authorization: `Bearer ${tokens[0]}` });
    tokens.push(String(refreshed.body.access_token));
    // A node, enrolled over TLS: a token from gRPC IssueToken and one from the REST token endpoint.
    const { code } = await c.auth.createEnrollmentCode('site-a', 'test');
    const stateDir = await mkdtemp(join(tmpdir(), 'medfed-tls-node-'));
    await enrollAgent({ coordinator: c.grpc, channelCredentials: grpc.credentials.createSsl(ca), siteId: 'site-a', code, stateDir, agentVersion: 't' });
    const enrolled = await loadAgentIdentity(stateDir);
    const node = new CoordinatorClient(c.grpc, grpc.credentials.createSsl(ca), enrolled);
    expect((await node.pollTask('site-a', 0)).task).toBeUndefined();
    const md = await node.credentials!.metadataFor(FederationService.pollTask.path);
    tokens.push(String(md.get('authorization')[0]).replace('DPoP ', ''));
    node.close();
    const key = enrolled.key;
    const viaRest = await https(`${c.rest}/v1/auth/token`, ca, 'POST', {
      assertion: createClientAssertion({ privateKey: key.privateKey, siteId: 'site-a', audience: enrolled.identity.issuer, keyThumbprint: key.jkt }),
    }, { dpop: createDpopProof({ privateKey: key.privateKey, publicJwk: key.publicJwk, htm: 'POST', htu: `${c.rest}/v1/auth/token` }) });
    expect(viaRest.body.token_type).toBe('DPoP');
    tokens.push(String(viaRest.body.access_token));

    const firstKid = c.auth.keys.active().kid;
    const rotated = await https(`${c.rest}/v1/admin/signing-keys/rotate`, ca, 'POST', undefined, { authorization: `Bearer ${c.adminToken}` });
    expect(rotated.body.kid).not.toBe(firstKid);
    expect(rotated.body.published).toEqual(expect.arrayContaining([firstKid, rotated.body.kid]));
    const afterRotation = await https(`${c.rest}/v1/auth/token`, ca, 'POST', { api_key: (await personToken(c, 'auditor')).apiKey });
    tokens.push(String(afterRotation.body.access_token));
    // A token of the retired key still works at the coordinator during the overlap.
    expect((await https(`${c.rest}/v1/auth/whoami`, ca, 'GET', undefined, { authorization: `Bearer ${tokens[0]}` })).status).toBe(200);

    const jwks = (await https(`${c.rest}/.well-known/jwks.json`, ca)).body as { keys: ({ kid: string } & Record<string, string>)[] };
    // The token signing keys (current and retired), next to the model-manifest signing keys.
    const publishedKids = jwks.keys.map((k) => k.kid);
    expect(publishedKids.filter((k) => !k.startsWith('medfed-manifest-')).sort()).toEqual([firstKid, String(rotated.body.kid)].sort());
    for (const k of jwks.keys) expect(k).not.toHaveProperty('d');
    const pem = (kid: string) => createPublicKey({ key: jwks.keys.find((k) => k.kid === kid)!, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
    const verify = createVerifier({
      key: async (decoded: { header: Record<string, unknown> }) => pem(String(decoded.header.kid)),
      algorithms: ['EdDSA'], allowedIss: c.auth.settings.issuer, allowedAud: c.auth.settings.audience, checkTyp: 'at+jwt', complete: true,
      requiredClaims: ['iss', 'aud', 'sub', 'iat', 'exp', 'jti'],
    });
    const kids = new Set<string>();
    for (const token of tokens) {
      const { header, payload } = await verify(token) as { header: { kid: string; typ: string }; payload: { iat: number; exp: number; cnf?: { jkt: string }; role: string } };
      kids.add(header.kid);
      expect(payload.exp - payload.iat).toBeGreaterThan(0);
      expect(payload.exp - payload.iat).toBeLessThanOrEqual(900);
      if (payload.role === 'node') expect(payload.cnf?.jkt).toBe(key.jkt);
    }
    expect(kids.size).toBe(2); // tokens of both the retired and the new key verified
  });
});

describe('signing-key overlap ends when the retired key\'s tokens have expired', () => {
  it('drops the retired key from the JWKS and refuses its tokens as unknown', async () => {
    const t = await startTestCoordinator('pglite', { 'auth.personTokenSeconds': 1, 'auth.nodeTokenSeconds': 1, 'auth.clockSkewSeconds': 0 });
    try {
      const c = t.coordinator;
      const { token } = await personToken(c, 'auditor');
      const old = c.auth.keys.active().kid;
      await c.auth.keys.rotate();
      expect(c.auth.jwks().keys.map((k) => k.kid)).toContain(old);
      await new Promise((r) => setTimeout(r, 1500));
      await c.auth.keys.maintain();
      expect(c.auth.jwks().keys.map((k) => k.kid)).not.toContain(old);
      expect((await rest(c, 'GET', '/v1/auth/whoami', { headers: { authorization: `Bearer ${token}` } })).body.code).toBe('AUTH_KID_UNKNOWN');
    } finally {
      await t.stop();
    }
  });
});

describe('transport security at startup', () => {
  const start = async (overrides: Record<string, unknown>) => {
    const config = await loadCoordinatorConfig({ env: {}, overrides: { 'rest.port': 0, 'grpc.port': 0, inMemoryDatabase: true, dataDir: await mkdtemp(join(tmpdir(), 'medfed-s-')), ...overrides } });
    return startCoordinator(config).then(async (c) => { await c.close(); return 'STARTED'; }, (err: { code: string; message: string }) => `${err.code}: ${err.message}`);
  };

  it('refuses a non-loopback address without TLS, production without TLS, and the anonymous development mode outside development', async () => {
    expect(await start({ 'rest.host': '0.0.0.0' })).toMatch(/^CONFIG_INVALID: rest.host 0.0.0.0 .*TLS/);
    expect(await start({ 'grpc.host': '10.1.2.3' })).toMatch(/^CONFIG_INVALID: grpc.host/);
    expect(await start({ env: 'production' })).toMatch(/^CONFIG_INVALID: env production needs this coordinator's public origins: set auth.restOrigins .* and auth.grpcAuthorities/);
    const origins = { 'auth.restOrigins': ['https://coordinator.example.org:8443'], 'auth.grpcAuthorities': ['coordinator.example.org:9443'] };
    expect(await start({ env: 'production', ...origins })).toMatch(/^CONFIG_INVALID: env production requires TLS/);
    const tls = await writeDevCa(await mkdtemp(join(tmpdir(), 'medfed-tls-')), ['localhost']);
    expect(await start({ env: 'production', ...origins, 'tls.cert': tls.serverCert, 'tls.key': tls.serverKey, 'auth.allowAnonymousNodes': true }))
      .toMatch(/^CONFIG_INVALID: auth.allowAnonymousNodes/);
    expect(await start({ 'tls.cert': join(tmpdir(), 'no-such-cert.pem'), 'tls.key': tls.serverKey })).toMatch(/^CONFIG_INVALID: tls.cert/);
  });
});

describe('one policy covers every route and method, and every decision is recorded', () => {
  let t: TestCoordinator;
  const decisions: AuthDecision[] = [];

  beforeAll(async () => {
    t = await startTestCoordinator('pglite', { 'auth.allowAnonymousNodes': false }, { onDecision: (d) => decisions.push(d) });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('has a policy entry for every registered REST route (Fastify onRoute) and every gRPC method of every service', () => {
    const served = t.coordinator.served;
    const restOps = served.rest.filter((r) => r.method !== 'HEAD').map((r) => `${r.method} ${r.url}`);
    expect(restOps.length).toBeGreaterThan(15);
    const missingRest = restOps.filter((op) => !t.coordinator.auth.policyEntry('rest', op));
    expect(missingRest).toEqual([]);
    // Every method of both services, from their own definitions, is served and has an entry.
    const defined = [...Object.values(FederationService), ...Object.values(healthService)].map((m) => m.path);
    expect([...served.grpc].sort()).toEqual([...defined].sort());
    expect(defined.filter((p) => !t.coordinator.auth.policyEntry('grpc', p))).toEqual([]);
    // And the policy names nothing that is not served (no stale rules).
    const stale = POLICY.entries.filter((e) => e.transport === 'rest'
      ? e.operation !== REST_NOT_FOUND && !restOps.includes(e.operation)
      : !served.grpc.includes(e.operation));
    expect(stale).toEqual([]);
    // The only open operations are health, the key set, the token endpoints, and the operational
    // pages that hold no data (OpenAPI, metrics, the dashboard's static login page; docs/operations.md).
    expect(POLICY.entries.filter((e) => e.access === 'public').map((e) => e.operation).sort()).toEqual([
      '/grpc.health.v1.Health/Check', '/grpc.health.v1.Health/List', '/grpc.health.v1.Health/Watch',
      '/medfed.v1.Federation/EnrollKey', '/medfed.v1.Federation/IssueToken',
      'GET /.well-known/jwks.json', 'GET /healthz', 'GET /metrics', 'GET /openapi.json', 'GET /readyz',
      'GET /ui', 'GET /ui/', 'GET /ui/*', 'GET /ui/settings.json', 'POST /v1/auth/token',
    ]);
  });

  it('records a decision with its rule for every allow and deny on both transports, and the audit trail keeps them', async () => {
    const c = t.coordinator;
    decisions.length = 0;
    await rest(c, 'GET', '/v1/jobs', { headers: { authorization: `Bearer ${c.adminToken}` } });
    await rest(c, 'GET', '/v1/jobs');
    const client = new CoordinatorClient(c.grpc);
    await client.pollTask('site-a', 0).catch(() => {});
    client.close();
    expect(decisions.map((d) => [d.transport, d.operation, d.effect, d.rule, d.code])).toEqual([
      ['rest', 'GET /v1/jobs', 'allow', 'jobs.list', null],
      ['rest', 'GET /v1/jobs', 'deny', 'jobs.list', 'AUTH_CREDENTIAL_MISSING'],
      ['grpc', '/medfed.v1.Federation/PollTask', 'deny', 'node.poll', 'AUTH_CREDENTIAL_MISSING'],
    ]);
    for (const d of decisions) expect(d.policyVersion).toBe(POLICY.version);
    expect(decisions[0]!.principal).toMatchObject({ role: 'admin' });
    await new Promise((r) => setTimeout(r, 1000)); // the audit writer commits in batches
    const { rows } = await c.db.query<{ outcome: string; event: string }>(`SELECT outcome, event FROM audit_events WHERE action = 'api.access' ORDER BY seq`);
    const rules = rows.map((r) => [r.outcome, (JSON.parse(r.event) as { rule: string }).rule]);
    const v = `policy:v${POLICY.version}`;
    expect(rules).toEqual(expect.arrayContaining([['success', `${v}/jobs.list`], ['denied', `${v}/jobs.list`], ['denied', `${v}/node.poll`]]));
  });
});
