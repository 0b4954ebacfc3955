import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { FederationClient, PROTOCOL_VERSION, PROTOCOL_VERSION_KEY, sha256Hex, type UpdateHeader } from '@medfed/proto';
import { pino } from 'pino';
import { startGrpcServer, type GrpcListening } from '../../src/transport/grpc/server.js';
import { OPEN_ROUND_KEY } from '../../src/transport/grpc/grpc-error.js';
import { f32, jobSpec, testEngine, type TestEngine } from '../support/engine.js';

const SITES = ['site-a', 'site-b', 'site-c', 'site-d'];
const notServed: grpc.handleUnaryCall<unknown, unknown> = (_call, cb) => cb({ code: grpc.status.UNIMPLEMENTED, details: 'not served in this test' });

/** SubmitUpdate over a real socket: the refusal's status, its `medfed-code` and its trailers. */
function submitOverGrpc(client: FederationClient, header: Omit<UpdateHeader, 'attestation'>, bytes: Buffer): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => {
    const md = new grpc.Metadata();
    md.set(PROTOCOL_VERSION_KEY, PROTOCOL_VERSION);
    const call = client.submitUpdate(md, { deadline: Date.now() + 10_000 }, (err) => resolve(err));
    call.write({ part: { $case: 'header', value: { ...header, attestation: '' } } });
    call.write({ part: { $case: 'data', value: bytes } });
    call.end();
  });
}

describe('ROUND_CLOSED over gRPC', () => {
  let e: TestEngine;
  let server: GrpcListening;
  let client: FederationClient;

  beforeAll(async () => {
    e = await testEngine('pglite');
    for (const s of SITES) await e.engine.registerSite(s, s);
    server = await startGrpcServer(e.engine, pino({ level: 'silent' }), {
      host: '127.0.0.1', port: 0, identity: { enrollKey: notServed, issueToken: notServed, rotateKey: notServed } as never,
    });
    client = new FederationClient(server.address, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    server.server.forceShutdown();
    await e.close();
  });

  it(`carries the open training round as the ${OPEN_ROUND_KEY} trailer on a semi-asynchronous job, and none once it stopped`, async () => {
    const job = await e.engine.createJob(jobSpec({ sites: SITES, minSites: 2, rounds: 3, strategy: { name: 'fedavg', closeAfter: 3 } }), 'tester');
    const m0 = (await e.engine.rounds(job.id))[0]!.input_model_id!;
    const bytes = Buffer.from(f32([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]));
    const header = (siteId: string) => ({
      siteId, jobId: job.id, round: 1, submissionId: `${job.id}:1:${siteId}`, numSamples: 5, byteSize: bytes.byteLength,
      sha256: sha256Hex(bytes), baseModelId: m0, baseRound: 0,
    });
    for (const s of ['site-a', 'site-b', 'site-c']) expect(await submitOverGrpc(client, header(s), bytes)).toBeNull();
    await e.engine.advance(job.id);
    expect((await e.engine.rounds(job.id)).map((r) => [r.round, r.status])).toEqual([[1, 'closed'], [2, 'open']]);

    const late = await submitOverGrpc(client, header('site-d'), bytes);
    expect(late?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(late?.metadata.get('medfed-code')).toEqual(['ROUND_CLOSED']);
    expect(late?.metadata.get(OPEN_ROUND_KEY)).toEqual(['2']);

    await e.engine.stopJob(job.id, 'test finished');
    const stopped = await submitOverGrpc(client, header('site-d'), bytes);
    expect(stopped?.metadata.get('medfed-code')).toEqual(['ROUND_CLOSED']);
    expect(stopped?.metadata.get(OPEN_ROUND_KEY)).toEqual([]);
  }, 30_000);
});
