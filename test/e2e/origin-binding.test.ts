import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { FederationClient } from '@medfed/proto';
import { grpcHtu } from '@medfed/proto/auth/index';
import { versionNegotiation } from '@medfed/node-agent/transport/version-negotiation';
import { loadCoordinatorConfig, startCoordinator } from '@medfed/coordinator';
import { enrollNode, proofFor, type EnrolledNode } from '../../coordinator/test/auth/support.js';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';

const OTHER_REST = 'http://coordinator.other.example:8080';
const OTHER_GRPC = 'coordinator.other.example:9090';

/** GET with exactly these headers, Host included (fetch would set Host from the URL). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || '{}') as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * A DPoP proof names the server it is for (htu); the server must compare it with its own origin, never
 * with the Host header or :authority the caller chose, or a proof made for another coordinator works here.
 */
describe("the coordinator checks DPoP htu against its own origins, not the request's headers", () => {
  let t: TestCoordinator;
  let node: EnrolledNode;

  beforeAll(async () => {
    t = await startTestCoordinator('pglite', { 'auth.allowAnonymousNodes': false });
    await t.coordinator.engine.registerSite('site-a', 'Hospital A');
    node = await enrollNode(t.coordinator, 'site-a');
  }, 120_000);
  afterAll(async () => {
    node?.client.close();
    await t.stop();
  });

  it('REST: a proof for another coordinator, sent with that coordinator as Host, is refused', async () => {
    const token = await node.token();
    const path = '/v1/sites/site-a';
    const own = await rawGet(`${t.coordinator.rest}${path}`, { authorization: `DPoP ${token}`, dpop: proofFor(node.key, 'GET', `${t.coordinator.rest}${path}`, token) });
    expect(own.status).toBe(200); // control: the same request for this coordinator
    const forged = await rawGet(`${t.coordinator.rest}${path}`, {
      host: OTHER_REST.replace('http://', ''), authorization: `DPoP ${token}`, dpop: proofFor(node.key, 'GET', `${OTHER_REST}${path}`, token),
    });
    expect(forged.status).toBe(401);
    expect(forged.body.code).toBe('AUTH_DPOP_MISMATCH');
  });

  it("gRPC: a proof for another coordinator, sent with that coordinator as :authority, is refused", async () => {
    const token = await node.token();
    const method = '/medfed.v1.Federation/PollTask';
    const client = new FederationClient(t.coordinator.grpc, grpc.credentials.createInsecure(), {
      interceptors: [versionNegotiation()], 'grpc.default_authority': OTHER_GRPC,
    });
    const md = new grpc.Metadata();
    md.set('authorization', `DPoP ${token}`);
    md.set('dpop', proofFor(node.key, 'POST', grpcHtu(OTHER_GRPC, method), token));
    const code = await new Promise<string>((resolve) => {
      client.pollTask({ siteId: 'site-a', waitMs: 0 }, md, { deadline: Date.now() + 30_000 }, (err) => {
        client.close();
        resolve(err ? String(err.metadata?.get('medfed-code')[0] ?? err.code) : 'OK');
      });
    });
    expect(code).toBe('AUTH_DPOP_MISMATCH');
  });

  it('production refuses to start without configured public origins', async () => {
    const config = await loadCoordinatorConfig({
      env: {},
      overrides: { env: 'production', 'rest.port': 0, 'grpc.port': 0, dataDir: t.dataDir, inMemoryDatabase: true, 'tls.cert': '/nonexistent.pem', 'tls.key': '/nonexistent.key' },
    });
    await expect(startCoordinator(config, pino({ level: 'silent' }))).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('auth.restOrigins') });
  });
});
