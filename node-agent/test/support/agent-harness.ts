import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NodeAgent } from '../../src/agent.js';
import { loadAgentConfig } from '../../src/config/load.js';
import { generateAgentKey, saveAgentIdentity } from '../../src/identity/identity-files.js';
import { siteCsv } from './fake-coordinator.js';
import { memoryLog } from './memory-log.js';

export interface RunningAgent {
  readonly agent: NodeAgent;
  readonly stateDir: string;
  readonly log: ReturnType<typeof memoryLog>;
  /** Settles when run() returns or rejects (it rejects only to stop the agent for good). */
  readonly outcome: Promise<{ ok: true } | { ok: false; error: Error & { code?: string } }>;
  /** Whether run() has settled. */
  settled(): boolean;
  stop(): Promise<void>;
}

/**
 * A real NodeAgent (development, steward approval automatic) enrolled as site-a against `address`,
 * with short backoff so retries happen within a test.
 */
export async function startAgent(address: string, options: { replicas?: string[]; overrides?: Record<string, unknown> } = {}): Promise<RunningAgent> {
  const dir = await mkdtemp(join(tmpdir(), 'medfed-agent-retry-'));
  const stateDir = join(dir, 'state');
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await writeFile(join(dir, 'data.csv'), siteCsv());
  const key = generateAgentKey();
  await saveAgentIdentity(stateDir, key, { siteId: 'site-a', issuer: 'fake-coordinator', keyThumbprint: key.jkt, coordinator: address, enrolledAt: new Date().toISOString() });
  const config = await loadAgentConfig({
    env: {},
    overrides: {
      siteId: 'site-a', 'coordinator.grpc': address, 'data.csv': join(dir, 'data.csv'), 'data.label': 'y', stateDir,
      pollWaitMs: 100, heartbeatSeconds: 1, 'approvals.autoApproveInDevelopment': true, 'privacy.dataset': 'cohort',
      ...(options.replicas ? { 'coordinator.replicas': options.replicas } : {}),
      ...options.overrides,
    },
  });
  const log = memoryLog();
  const agent = new NodeAgent(config, log.log, { retry: { baseMs: 20, capMs: 200 } });
  await agent.prepare();
  let done = false;
  const outcome = agent.run().then(
    () => ({ ok: true as const }),
    (error: Error & { code?: string }) => ({ ok: false as const, error }),
  ).finally(() => { done = true; });
  return {
    agent, stateDir, log, outcome, settled: () => done,
    async stop() {
      await agent.stop();
      await outcome;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
