import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';

const SCRAPE_TOKEN = 'scrape-0123456789abcdef0123456789abcdef';

async function scrape(t: TestCoordinator, authorization?: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${t.coordinator.rest}/metrics`, { headers: authorization ? { authorization } : {} });
  return { status: res.status, text: await res.text() };
}

/** An open /metrics must not tell a network observer which hospitals take part. */
describe('/metrics names no site or job without a credential', () => {
  let t: TestCoordinator;

  beforeAll(async () => {
    t = await startTestCoordinator('pglite');
    // Read at every scrape: a rotated token file applies without a restart.
    await writeFile(join(t.dataDir, 'scrape-token'), `${SCRAPE_TOKEN}\n`, { mode: 0o600 });
    process.env.MEDFED_METRICS_SCRAPE_TOKEN_FILE = join(t.dataDir, 'scrape-token');
    await t.coordinator.engine.registerSite('site-a', 'Hospital A');
    await t.coordinator.engine.heartbeat('site-a', { state: 'idle', jobId: '', round: 0, detail: '', logPath: '' });
  });
  afterAll(async () => {
    delete process.env.MEDFED_METRICS_SCRAPE_TOKEN_FILE;
    await t.stop();
  });

  it('answers an anonymous scrape without site or job labels', async () => {
    const open = await scrape(t);
    expect(open.status).toBe(200);
    expect(open.text).toContain('medfed_jobs');
    expect(open.text).not.toMatch(/site="/);
    expect(open.text).not.toMatch(/job="/);
    expect(open.text).not.toContain('site-a');
  });

  it('gives the per-site gauges to a scrape that presents the scrape token, and refuses a wrong one', async () => {
    const withToken = await scrape(t, `Bearer ${SCRAPE_TOKEN}`);
    expect(withToken.status).toBe(200);
    expect(withToken.text).toMatch(/medfed_site_last_seen_timestamp_seconds\{site="site-a"\} \d+/);
    const wrong = await scrape(t, 'Bearer scrape-wrong');
    expect(wrong.status).toBe(401);
  });
});
