import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TRANSIENT_CODES, FATAL_CODES, backoffDelay, dispositionOf, retryDelayWithin, stopErrorFor } from '../../src/transport/retry-policy.js';
import { CoordinatorClient, CoordinatorError } from '../../src/transport/client.js';
import { replicaAfterNotLeader } from '../../src/transport/leader.js';
import { OutageLog } from '../../src/transport/outage-log.js';
import { FakeCoordinator, type Failure } from '../support/fake-coordinator.js';
import { LEVEL, memoryLog } from '../support/memory-log.js';

const header = { siteId: 'site-a', jobId: 'job-1', round: 1, submissionId: 'job-1:1:site-a', numSamples: 10, baseModelId: 'm0', attestation: '' };
const refusal = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a refusal'); }, (err: unknown) => err as CoordinatorError);

describe('the retry policy decides by medfed code, over a real gRPC connection', () => {
  let fake: FakeCoordinator;
  let client: CoordinatorClient;
  beforeAll(async () => {
    fake = await FakeCoordinator.start();
    client = new CoordinatorClient(fake.address);
  });
  afterAll(async () => {
    client?.close();
    await fake?.close();
  });

  it.each<[string, string, Failure, string]>([
    ['UPDATE_TOO_LARGE', 'final', { status: 8, code: 'UPDATE_TOO_LARGE' }, 'UPDATE_TOO_LARGE'],
    ['PRIVACY_BUDGET_EXCEEDED', 'final', { status: 8, code: 'PRIVACY_BUDGET_EXCEEDED' }, 'PRIVACY_BUDGET_EXCEEDED'],
    ['STORAGE_FULL', 'transient', { status: 8, code: 'STORAGE_FULL' }, 'STORAGE_FULL'],
    ['no medfed code', 'final', { status: 8, message: 'Received message larger than max' }, 'GRPC_ERROR'],
  ])('RESOURCE_EXHAUSTED with %s on an upload is %s', async (_, disposition, failure, code) => {
    fake.fault = (method) => (method === 'submitUpdate' ? failure : undefined);
    const err = await refusal(client.submitUpdate(header, new Uint8Array(24)));
    expect(err).toBeInstanceOf(CoordinatorError);
    expect(err.grpcStatus).toBe(8);
    expect(err.code).toBe(code);
    expect(dispositionOf(err)).toBe(disposition);
  });

  it.each<[Failure, string, string]>([
    [{ status: 14, code: 'DATABASE_UNAVAILABLE' }, 'DATABASE_UNAVAILABLE', 'transient'],
    [{ status: 14, code: 'BLOB_STORE_UNAVAILABLE' }, 'BLOB_STORE_UNAVAILABLE', 'transient'],
    [{ status: 14 }, 'COORDINATOR_UNAVAILABLE', 'transient'],
    [{ status: 4 }, 'COORDINATOR_TIMEOUT', 'transient'],
    [{ status: 1 }, 'COORDINATOR_CONNECTION_LOST', 'transient'],
    [{ status: 2 }, 'COORDINATOR_CONNECTION_LOST', 'transient'],
    [{ status: 13 }, 'GRPC_ERROR', 'final'],
    [{ status: 16, code: 'AUTH_TOKEN_EXPIRED' }, 'AUTH_TOKEN_EXPIRED', 'transient'],
    [{ status: 16, code: 'AUTH_KEY_REVOKED' }, 'AUTH_KEY_REVOKED', 'fatal'],
    [{ status: 7, code: 'SITE_SUSPENDED' }, 'SITE_SUSPENDED', 'fatal'],
    [{ status: 9, code: 'ROUND_CLOSED' }, 'ROUND_CLOSED', 'final'],
    [{ status: 6, code: 'METRICS_CONFLICT' }, 'METRICS_CONFLICT', 'final'],
  ])('status %j on a unary call is %s, %s', async (failure, code, disposition) => {
    fake.fault = (method) => (method === 'reportMetrics' ? failure : undefined);
    const err = await refusal(client.reportMetrics({ siteId: 'site-a', jobId: 'j', round: 1, phase: 'eval', modelRound: 0, loss: 1, accuracy: 0.5, numSamples: 3, privacySpend: undefined }));
    expect(err.code).toBe(code);
    expect(dispositionOf(err)).toBe(disposition);
  });

  it('carries the leader a NOT_LEADER names, and only a well-formed address', async () => {
    fake.fault = () => ({ status: 14, code: 'NOT_LEADER', leader: 'coordinator-1.medfed:7443' });
    const err = await refusal(client.pollTask('site-a', 100));
    expect(err).toMatchObject({ code: 'NOT_LEADER', leader: 'coordinator-1.medfed:7443' });
    expect(dispositionOf(err)).toBe('transient');
    fake.fault = () => ({ status: 14, code: 'NOT_LEADER', leader: 'http://evil/' });
    expect((await refusal(client.pollTask('site-a', 100))).leader).toBeUndefined();
    fake.fault = () => undefined;
  });
});

describe('a coordinator process SIGKILLed mid-call', () => {
  it('fails every open call (unary, upload stream, download stream) with a transient code', async () => {
    const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures/hanging-coordinator.mjs')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const line = (re: RegExp) => new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => { const m = re.exec(out); if (m) resolve(m); };
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); check(); });
      child.once('exit', (code) => reject(new Error(`fixture exited ${code}: ${err}`)));
      check();
    });
    const port = (await line(/port (\d+)/))[1];
    const client = new CoordinatorClient(`127.0.0.1:${port}`);
    try {
      const poll = refusal(client.pollTask('site-a', 5_000));
      const upload = refusal(client.submitUpdate(header, new Uint8Array(16 << 20)));
      const download = refusal(client.downloadModel('site-a', 'j', 'm', '0'.repeat(64)));
      await line(/receiving/);
      child.kill('SIGKILL');
      for (const e of await Promise.all([poll, upload, download])) {
        expect(e).toBeInstanceOf(CoordinatorError);
        expect(e.code).toBe('COORDINATOR_UNAVAILABLE'); // grpc-js: UNAVAILABLE, "Connection dropped" / ECONNRESET, no trailer
        expect(dispositionOf(e)).toBe('transient');
      }
      // And while it is down: refused connections are the same.
      const down = await refusal(client.pollTask('site-a', 100));
      expect(down.code).toBe('COORDINATOR_UNAVAILABLE');
    } finally {
      client.close();
      child.kill('SIGKILL');
    }
  });
});

describe('backoff', () => {
  it('is capped exponential with full jitter', () => {
    expect([1, 2, 3, 4, 6, 7, 20].map((n) => backoffDelay(n, { random: () => 0.9999 }))).toEqual([249, 499, 999, 1999, 7999, 14998, 14998]);
    expect(backoffDelay(5, { random: () => 0 })).toBe(0);
    expect(backoffDelay(3, { baseMs: 10, capMs: 30, random: () => 0.5 })).toBe(15);
  });

  it('stops at the task deadline', () => {
    const now = 1_000_000;
    const max = { random: () => 0.9999 };
    expect(retryDelayWithin(1, now + 10_000, now, max)).toBe(249);
    expect(retryDelayWithin(7, now + 20_000, now, max)).toBe(14998);
    expect(retryDelayWithin(7, now + 10_000, now, max)).toBeNull(); // the wait would end past the deadline
    expect(retryDelayWithin(1, now - 1, now, { random: () => 0 })).toBeNull(); // already past
    expect(retryDelayWithin(30, 0, now, max)).toBe(14998); // no deadline: retried for as long as it takes
  });
});

describe('the code lists', () => {
  it('keep transient and fatal codes apart, and explain each fatal code in one line', () => {
    for (const code of TRANSIENT_CODES) expect(FATAL_CODES.has(code)).toBe(false);
    for (const code of ['UPDATE_TOO_LARGE', 'PRIVACY_BUDGET_EXCEEDED', 'GRPC_ERROR', 'METRICS_CONFLICT', 'DUPLICATE_SUBMISSION']) {
      expect(dispositionOf({ code })).toBe('final');
    }
    const stop = stopErrorFor(new CoordinatorError('AUTH_KEY_REVOKED', 'the key is no longer the site key.\nsecond line', 16));
    expect(stop.code).toBe('AUTH_KEY_REVOKED');
    expect(stop.message).toBe('the key is no longer the site key. second line. The agent stopped: this agent\'s key was revoked or replaced at the coordinator; '
      + 're-enroll this site with a new code from an administrator (medfed agent enroll), then start the agent again.');
    // A revoked site never comes back under its id: the agent stops instead of retrying for ever.
    for (const code of ['AUTH_SITE_REVOKED', 'SITE_REVOKED']) {
      expect(dispositionOf({ code })).toBe('fatal');
      expect(stopErrorFor(new CoordinatorError(code, 'site site-c was revoked', 7)).message).toMatch(/revoked this site for good/);
    }
  });

  it('moves to the hinted leader only when it is a listed replica, else round-robin', () => {
    const replicas = ['a:1', 'b:1', 'c:1'];
    expect(replicaAfterNotLeader(replicas, 'a:1', 'c:1')).toBe('c:1');
    expect(replicaAfterNotLeader(replicas, 'a:1', 'evil:1')).toBeNull();
    expect(replicaAfterNotLeader(replicas, 'c:1', undefined)).toBe('a:1');
    expect(replicaAfterNotLeader(replicas, 'lb:1', undefined)).toBe('a:1');
    expect(replicaAfterNotLeader([], 'a:1', 'b:1')).toBeNull();
  });
});

describe('the outage log', () => {
  it('writes one line when failures start and one when they end, debug in between', () => {
    const { log, lines } = memoryLog();
    let now = 0;
    const outage = new OutageLog(log, () => now);
    for (let i = 0; i < 5; i++) {
      outage.failed('connection', { code: 'DATABASE_UNAVAILABLE' });
      now += 3_000;
    }
    outage.recovered('task'); // another kind of call succeeding does not end it
    now += 2_200;
    outage.recovered('connection');
    outage.recovered('connection');
    expect(lines.filter((l) => l.level > LEVEL.debug).map((l) => l.msg)).toEqual([
      'coordinator unavailable (DATABASE_UNAVAILABLE); retrying with backoff',
      'coordinator reachable again after 17.2 s (6 attempts)',
    ]);
    expect(lines.filter((l) => l.level === LEVEL.debug)).toHaveLength(4);
  });
});
