import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { NodeAgent } from '../../src/agent.js';
import { checkDevelopmentOptions } from '../../src/config/development-options.js';
import { loadAgentConfig } from '../../src/config/load.js';
import { developmentSlowdown, MAX_SLOWDOWN_MS, slowdownMs } from '../../src/tasks/training-slowdown.js';
import { trainTask, jobSpec } from '../support/fake-coordinator.js';
import { LEVEL, memoryLog } from '../support/memory-log.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function configWith(overrides: Record<string, unknown>) {
  const stateDir = await mkdtemp(join(tmpdir(), 'medfed-dev-options-'));
  dirs.push(stateDir);
  return loadAgentConfig({
    env: {}, pinnedTrust: false,
    overrides: { siteId: 'site-a', 'coordinator.grpc': 'localhost:1', 'data.csv': join(stateDir, 'none.csv'), 'data.label': 'y', stateDir, ...overrides },
  });
}

const codeOf = (p: Promise<unknown>) => p.then(() => 'resolved', (err: { code?: string }) => err.code);

describe('development.trainingSlowdown: simulated slow sites, development only', () => {
  it('defaults to 1 and refuses a factor below 1', async () => {
    expect((await configWith({})).development.trainingSlowdown).toBe(1);
    await expect(configWith({ 'development.trainingSlowdown': 0.5 })).rejects.toMatchObject({
      code: 'CONFIG_INVALID', message: expect.stringContaining('development.trainingSlowdown'),
    });
  });

  it('is refused by a production agent before it touches anything, and accepted in development', async () => {
    const production = await configWith({ env: 'production', 'development.trainingSlowdown': 2 });
    expect(() => checkDevelopmentOptions(production)).toThrow(expect.objectContaining({
      code: 'CONFIG_INVALID', message: expect.stringContaining('development.trainingSlowdown is a development option'),
    }));
    expect(await codeOf(new NodeAgent(production, pino({ level: 'silent' })).prepare())).toBe('CONFIG_INVALID');
    expect(() => checkDevelopmentOptions({ ...production, development: { trainingSlowdown: 1 } })).not.toThrow();
    const development = await configWith({ 'development.trainingSlowdown': 2 });
    expect(() => checkDevelopmentOptions(development)).not.toThrow();
  });

  it('waits (factor - 1) x the training time, capped at ten minutes', () => {
    expect(slowdownMs(3, 100)).toBe(200);
    expect(slowdownMs(1, 5_000)).toBe(0);
    expect(slowdownMs(1000, 3_600_000)).toBe(MAX_SLOWDOWN_MS);
    expect(MAX_SLOWDOWN_MS).toBe(600_000);
  });

  it('logs the wait once and waits', async () => {
    const logged = memoryLog();
    const task = trainTask({ jobId: 'job-slow', round: 2, spec: jobSpec(), model: { modelId: 'm', modelSha256: 'x' } });
    const began = performance.now();
    expect(await developmentSlowdown({ task, log: logged.log, trainingSlowdown: { factor: 3 } }, 60)).toBe(120);
    expect(performance.now() - began).toBeGreaterThanOrEqual(60);
    expect(logged.messages('development slowdown: waiting 120 ms')).toEqual([
      expect.objectContaining({ level: LEVEL.info, job: 'job-slow', round: 2, factor: 3, ms: 120 }),
    ]);
    // Factor 1 (the default): no wait, no line.
    expect(await developmentSlowdown({ task, log: logged.log, trainingSlowdown: { factor: 1 } }, 60)).toBe(0);
    expect(await developmentSlowdown({ task, log: logged.log }, 60)).toBe(0);
    expect(logged.messages(/^development slowdown/)).toHaveLength(1);
  });
});
