import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { encodeVector, FederationClient, parameterCount, type JobSpec } from '@medfed/proto';
import { versionNegotiation } from '@medfed/node-agent/transport/version-negotiation';
import { enrollNode, grpcMethodHtu, grpcSubmitHeader, grpcUnary, personToken, proofFor, rest, type EnrolledNode } from '../../coordinator/test/auth/support.js';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';

const spec = (sites: string[]): JobSpec => ({
  name: 'completeness', features: ['f1', 'f2'], label: 'y', classes: ['no', 'yes'], model: { hidden: [], activation: 'relu' },
  training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 7 },
  rounds: 1, minSites: 1, roundDeadlineSeconds: 60, strategy: { name: 'fedavg' }, sites, standardization: 'none',
  encryption: { enabled: false, paramSet: 'bfv-n4096-q60-t48-2x23', clipNorm: 5, fracBits: 0 },
});

/** What the one event of a scripted request must say. */
interface Expected {
  readonly what: string;
  readonly id: string;
  readonly action: string;
  readonly outcome: 'success' | 'denied' | 'failure';
  readonly rule: string;
  readonly reason?: string;
}

interface StoredEvent {
  readonly action: string;
  readonly outcome: string;
  readonly rule: string;
  readonly request_id: string | null;
  readonly details: Record<string, unknown>;
}

describe('the audit trail holds exactly one event per request (REST and gRPC, allowed, denied and failing)', () => {
  let t: TestCoordinator;
  let node: EnrolledNode;
  const expected: Expected[] = [];

  beforeAll(async () => {
    t = await startTestCoordinator('postgres', { 'auth.allowAnonymousNodes': false });
    await t.coordinator.engine.registerSite('site-b', 'site-b');
    await t.coordinator.engine.registerSite('site-c', 'site-c');
    node = await enrollNode(t.coordinator, 'site-c');
  });
  afterAll(async () => {
    node?.client.close();
    await t?.stop();
  });

  it('records each scripted request once, with the request id, the outcome and the deciding rule', async () => {
    const c = t.coordinator;
    const admin = { authorization: `Bearer ${c.adminToken}` };
    const researcherKey = await personToken(c, 'researcher');
    const researcher = { authorization: `Bearer ${researcherKey.token}` };
    const steward = { authorization: `Bearer ${(await personToken(c, 'site-steward', 'site-b')).token}` };
    const policy = (rule: string) => `policy:v${c.auth.policy.version}/${rule}`;

    const call = async (what: string, method: string, path: string, headers: Record<string, string>, body: unknown,
      status: number, event: Omit<Expected, 'what' | 'id'>): Promise<Record<string, unknown>> => {
      const id = `rest-${randomUUID()}`;
      const res = await rest(c, method, path, { headers: { ...headers, 'x-request-id': id }, ...(body === undefined ? {} : { body }) });
      expect([what, res.status, res.status === status ? "" : JSON.stringify(res.body)]).toEqual([what, status, ""]);
      expected.push({ what, id, ...event });
      return res.body;
    };

    // Allowed reads and state changes: the action's own event carries the policy rule.
    await call('list sites', 'GET', '/v1/sites', admin, undefined, 200, { action: 'api.access', outcome: 'success', rule: policy('sites.list') });
    await call('register a site', 'POST', '/v1/sites', admin, { id: 'site-a' }, 201, { action: 'site.register', outcome: 'success', rule: policy('sites.register') });
    const job = await call('create a job', 'POST', '/v1/jobs', admin, { spec: spec(['site-a', 'site-b']) }, 201,
      { action: 'job.create', outcome: 'success', rule: policy('jobs.create') });
    await call('read the job', 'GET', `/v1/jobs/${String(job.id)}`, admin, undefined, 200, { action: 'api.access', outcome: 'success', rule: policy('jobs.read') });
    await call('stop the job', 'POST', `/v1/jobs/${String(job.id)}/stop`, researcher, { reason: 'done' }, 200,
      { action: 'job.stop', outcome: 'success', rule: policy('jobs.stop') });
    // Allowed, then failing: one failure event naming the code (the action's own transaction rolled back).
    await call('register it again', 'POST', '/v1/sites', admin, { id: 'site-a' }, 409,
      { action: 'api.access', outcome: 'failure', rule: policy('sites.register'), reason: 'SITE_EXISTS' });
    await call('malformed body', 'POST', '/v1/sites', admin, { id: 42 }, 400,
      { action: 'api.access', outcome: 'failure', rule: policy('sites.register'), reason: 'VALIDATION_FAILED' });
    await call('stop with a bad reason', 'POST', `/v1/jobs/${String(job.id)}/stop`, admin, { reason: 7 }, 400,
      { action: 'api.access', outcome: 'failure', rule: policy('jobs.stop'), reason: 'VALIDATION_FAILED' });
    await call('unknown job', 'GET', '/v1/jobs/no-such-job', admin, undefined, 404, { action: 'api.access', outcome: 'failure', rule: policy('jobs.read') });
    await call('unknown route', 'GET', '/v1/no-such-route', admin, undefined, 404,
      { action: 'api.access', outcome: 'failure', rule: policy('rest.not-found'), reason: 'NOT_FOUND' });
    // Denied: wrong role, other site, no credential, a forged credential.
    await call('wrong role', 'POST', '/v1/sites', researcher, { id: 'site-x' }, 403,
      { action: 'api.access', outcome: 'denied', rule: policy('sites.register'), reason: 'AUTH_ROLE_FORBIDDEN' });
    await call('other site', 'GET', '/v1/sites/site-a', steward, undefined, 403,
      { action: 'api.access', outcome: 'denied', rule: policy('sites.read'), reason: 'AUTH_SITE_SCOPE' });
    await call('no credential', 'GET', '/v1/jobs', {}, undefined, 401,
      { action: 'api.access', outcome: 'denied', rule: policy('jobs.list'), reason: 'AUTH_CREDENTIAL_MISSING' });
    await call('forged credential', 'GET', '/v1/jobs', { authorization: 'Bearer not.a.token' }, undefined, 401,
      { action: 'api.access', outcome: 'denied', rule: policy('authenticate') });
    // Credential requests are open operations, and still one event each.
    await call('log in with an API key', 'POST', '/v1/auth/token', {}, { api_key: researcherKey.apiKey }, 200,
      { action: 'api.access', outcome: 'success', rule: policy('auth.token') });
    await call('log in with a wrong API key', 'POST', '/v1/auth/token', {}, { api_key: `${researcherKey.apiKey.slice(0, -4)}xxxx` }, 401,
      { action: 'api.access', outcome: 'failure', rule: policy('auth.token') });

    // gRPC: the request id travels as x-request-id metadata.
    const nodeMetadata = async (method: string): Promise<Record<string, string>> => {
      const token = await node.token();
      return { authorization: `DPoP ${token}`, dpop: proofFor(node.key, 'POST', grpcMethodHtu(c, method), token) };
    };
    const grpcCall = async (what: string, run: (id: string) => Promise<{ code: string }>, code: string, event: Omit<Expected, 'what' | 'id'>) => {
      const id = `grpc-${randomUUID()}`;
      const res = await run(id);
      expect([what, res.code]).toEqual([what, code]);
      expected.push({ what, id, ...event });
    };
    await grpcCall('poll own site', async (id) => grpcUnary(c, 'pollTask', { siteId: 'site-c', waitMs: 0 }, { ...await nodeMetadata('PollTask'), 'x-request-id': id }),
      'OK', { action: 'api.access', outcome: 'success', rule: policy('node.poll') });
    await grpcCall('poll another site', async (id) => grpcUnary(c, 'pollTask', { siteId: 'site-b', waitMs: 0 }, { ...await nodeMetadata('PollTask'), 'x-request-id': id }),
      'AUTH_SITE_SCOPE', { action: 'api.access', outcome: 'denied', rule: policy('node.poll'), reason: 'AUTH_SITE_SCOPE' });
    await grpcCall('poll without credential', (id) => grpcUnary(c, 'pollTask', { siteId: 'site-c', waitMs: 0 }, { 'x-request-id': id }),
      'AUTH_CREDENTIAL_MISSING', { action: 'api.access', outcome: 'denied', rule: policy('node.poll'), reason: 'AUTH_CREDENTIAL_MISSING' });
    await grpcCall('metrics for an unknown job', async (id) => grpcUnary(c, 'reportMetrics',
      { siteId: 'site-c', jobId: 'no-such-job', round: 1, phase: 'train', modelRound: 0, loss: 0, accuracy: 0, numSamples: 1 },
      { ...await nodeMetadata('ReportMetrics'), 'x-request-id': id }),
    'UNKNOWN_JOB', { action: 'api.access', outcome: 'failure', rule: policy('node.report-metrics'), reason: 'UNKNOWN_JOB' });
    await grpcCall('submission refused by the core', async (id) => grpcSubmitHeader(c, { ...await nodeMetadata('SubmitUpdate'), 'x-request-id': id },
      { siteId: 'site-c', jobId: 'no-such-job' }),
    'UNKNOWN_JOB', { action: 'api.access', outcome: 'failure', rule: policy('node.submit-update'), reason: 'UNKNOWN_JOB' });

    // Submissions the core records itself: a refused update (its own denied event) and an accepted one.
    const own = await c.engine.createJob(spec(['site-c']), 'tester');
    const task = await node.client.pollTask('site-c', 0);
    expect(task.task?.jobId).toBe(own.id);
    const submit = async (id: string, submissionId: string, weights: Float32Array) => {
      const payload = encodeVector(weights);
      const client = new FederationClient(c.grpc, grpc.credentials.createInsecure(), { interceptors: [versionNegotiation()] });
      const md = new grpc.Metadata();
      for (const [k, v] of Object.entries({ ...await nodeMetadata('SubmitUpdate'), 'x-request-id': id })) md.set(k, v);
      return new Promise<{ code: string }>((resolve) => {
        const call = client.submitUpdate(md, { deadline: Date.now() + 60_000 }, (err) => {
          client.close();
          resolve({ code: err ? String(err.metadata?.get('medfed-code')[0] ?? err.code) : 'OK' });
        });
        call.write({ part: { $case: 'header', value: {
          siteId: 'site-c', jobId: own.id, round: 1, submissionId, numSamples: 5, byteSize: payload.byteLength,
          sha256: createHash('sha256').update(payload).digest('hex'), baseModelId: task.task!.modelId, attestation: '', baseRound: 0,
        } } });
        call.write({ part: { $case: 'data', value: Buffer.from(payload) } });
        call.end();
      });
    };
    const P = parameterCount(2, [], 2);
    await grpcCall('submit a NaN update', (id) => submit(id, 'nan-1', new Float32Array(P).fill(Number.NaN)),
      'UPDATE_INVALID', { action: 'submission.receive', outcome: 'denied', rule: 'federation:UPDATE_INVALID', reason: 'UPDATE_INVALID' });
    await grpcCall('submit an update', (id) => submit(id, 'ok-1', new Float32Array(P).fill(0.01)),
      'OK', { action: 'submission.receive', outcome: 'success', rule: policy('node.submit-update') });
    // The accepted update closes the round; let the aggregation finish before reading the trail.
    const roundStatus = async () => (await c.db.query<{ status: string }>('SELECT status FROM rounds WHERE job_id = $1 AND round = 1', [own.id])).rows[0]?.status;
    for (let i = 0; i < 1200 && await roundStatus() !== 'closed'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await roundStatus()).toBe('closed');
    // The site's ledger charge for the round arrives with its training metrics: one privacy.spend event.
    const privacySpend = { epsilon: 0.4, delta: 1e-5, dataset: 'cohort-2024', mechanism: 'gaussian', epsilonTotal: 1.1, epsilonBudget: 3, epsilonRemaining: 1.9 };
    await grpcCall('train metrics with a privacy spend', async (id) => grpcUnary(c, 'reportMetrics',
      { siteId: 'site-c', jobId: own.id, round: 1, phase: 'train', modelRound: 1, loss: 0.5, accuracy: 0.5, numSamples: 5, privacySpend },
      { ...await nodeMetadata('ReportMetrics'), 'x-request-id': id }),
    'OK', { action: 'privacy.spend', outcome: 'success', rule: policy('node.report-metrics') });
    await grpcCall('a privacy spend on eval metrics', async (id) => grpcUnary(c, 'reportMetrics',
      { siteId: 'site-c', jobId: own.id, round: 1, phase: 'eval', modelRound: 0, loss: 0.5, accuracy: 0.5, numSamples: 5, privacySpend },
      { ...await nodeMetadata('ReportMetrics'), 'x-request-id': id }),
    'METRICS_INVALID', { action: 'api.access', outcome: 'failure', rule: policy('node.report-metrics'), reason: 'METRICS_INVALID' });
    const overview = await call('job overview', 'GET', `/v1/jobs/${own.id}/overview`, admin, undefined, 200,
      { action: 'api.access', outcome: 'success', rule: policy('jobs.overview') });
    expect((overview.privacy as { budgets: unknown[] }).budgets).toEqual([
      { name: 'site-c', dataset: 'cohort-2024', rounds: 1, spent: 0.4, delta: 1e-5, ledgerSpent: 1.1, epsilon: 3, remaining: 1.9 },
    ]);
    await c.engine.stopJob(own.id, 'test over');
    // A live stream (server-sent events) is one event too, written before the stream opens.
    const streamId = `rest-${randomUUID()}`;
    const stream = await fetch(`${c.rest}/v1/jobs/${own.id}/events`, { headers: { ...admin, 'x-request-id': streamId } });
    expect([stream.status, (await stream.text()).includes('event: end')]).toEqual([200, true]);
    expected.push({ what: 'job event stream', id: streamId, action: 'api.access', outcome: 'success', rule: policy('jobs.events') });

    const { rows } = await c.db.query<{ event: string }>('SELECT event FROM audit_events ORDER BY seq');
    const events = rows.map((r) => JSON.parse(r.event) as StoredEvent);
    const byId = new Map<string, StoredEvent[]>();
    for (const e of events) if (e.request_id) byId.set(e.request_id, [...(byId.get(e.request_id) ?? []), e]);
    const seen = expected.map((x) => {
      const found = byId.get(x.id) ?? [];
      const e = found[0];
      return {
        what: x.what, events: found.length, action: e?.action, outcome: e?.outcome, rule: e?.rule,
        ...(x.reason ? { reason: e?.details.reason } : {}),
      };
    });
    expect(seen).toEqual(expected.map((x) => ({
      what: x.what, events: 1, action: x.action, outcome: x.outcome, rule: x.rule, ...(x.reason ? { reason: x.reason } : {}),
    })));
    // No request left a second event under another id: every event with a request id is one of a request's.
    const scripted = new Set(expected.map((x) => x.id));
    const ours = events.filter((e) => e.request_id && (e.request_id.startsWith('rest-') || e.request_id.startsWith('grpc-')));
    expect(ours.filter((e) => !scripted.has(e.request_id!))).toEqual([]);
    expect(ours).toHaveLength(expected.length);
  });
});
