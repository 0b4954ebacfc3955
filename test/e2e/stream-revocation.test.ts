import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JobSpec } from '@medfed/proto';
import { personToken } from '../../coordinator/test/auth/support.js';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';

const spec: JobSpec = {
  name: 'streamed', features: ['f1'], label: 'y', classes: ['n', 'y'], model: { hidden: [], activation: 'relu' },
  training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 1 },
  rounds: 3, minSites: 1, roundDeadlineSeconds: 600, strategy: { name: 'fedavg' }, sites: ['site-a'], standardization: 'none',
  encryption: { enabled: false },
};

/** Reads a server-sent event stream until it closes; resolves with the events and when it closed. */
async function follow(url: string, token: string, onFirst: () => Promise<void>): Promise<{ events: string[]; closedAt: number }> {
  // Bounded: a stream that outlives its revocation by 20 s is given up on (and the test fails on the time).
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal: AbortSignal.timeout(20_000) });
  expect(res.status).toBe(200);
  const events: string[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  let first = true;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      for (const m of buffer.matchAll(/^event: (\w+)$/gm)) events.push(m[1]!);
      buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
      if (first && events.includes('overview')) {
        first = false;
        await onFirst();
      }
    }
  } catch (err) {
    if ((err as Error).name !== 'TimeoutError') throw err;
  }
  return { events, closedAt: Date.now() };
}

describe('a live job stream ends soon after its credential is revoked', () => {
  let t: TestCoordinator;
  let jobId: string;

  beforeAll(async () => {
    t = await startTestCoordinator('postgres');
    await t.coordinator.engine.registerSite('site-a', 'Hospital A');
    jobId = (await t.coordinator.engine.createJob(spec, 'tester')).id;
  });
  afterAll(async () => {
    await t.stop();
  });

  it('GET /v1/jobs/:id/events closes within 5 s of the API key being revoked (as another replica would, in the database)', async () => {
    const { token, keyId } = await personToken(t.coordinator, 'researcher');
    let revokedAt = 0;
    const result = await follow(`${t.coordinator.rest}/v1/jobs/${jobId}/events`, token, async () => {
      // Straight in the shared database, bypassing this process's caches: what a revocation through another replica looks like.
      await t.coordinator.db.query('UPDATE auth_api_keys SET revoked_at = now() WHERE id = $1', [keyId]);
      revokedAt = Date.now();
    });
    expect(revokedAt).toBeGreaterThan(0);
    expect(result.closedAt - revokedAt).toBeLessThan(5_000);
    expect(result.events.at(-1)).toBe('reauth');
  }, 60_000);
});
