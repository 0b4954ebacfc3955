import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JobSpec } from '@medfed/proto';
import { JobSpecSchema } from '../../src/schemas/job.js';
import { validated } from '../../src/schemas/validate.js';
import { toPublicError } from '../../src/transport/errors.js';
import { enrollSites, jobSpec, testEngine, type TestEngine } from '../support/engine.js';

const SITES = ['site-a', 'site-b', 'site-c'];
const encrypted = (strategy: Record<string, unknown>) => jobSpec({
  sites: SITES, minSites: 3, strategy: strategy as JobSpec['strategy'],
  encryption: { enabled: true, paramSet: 'bfv-n4096-q60-t48-2x23', clipNorm: 5, fracBits: 0 },
});
const plaintext = (strategy: Record<string, unknown>) => jobSpec({ sites: SITES, strategy: strategy as JobSpec['strategy'] });

/** A refused createJob as the transports answer it: the error table's public code and HTTP status. */
async function refusal(e: TestEngine, spec: JobSpec): Promise<{ code: string; http: number; message: string }> {
  try {
    await e.engine.createJob(spec, 'tester');
  } catch (err) {
    const { code, http, message } = toPublicError(err);
    return { code, http, message };
  }
  throw new Error('the job was created');
}

describe('job creation checks the strategy against the proto registry', () => {
  let e: TestEngine;
  beforeAll(async () => {
    e = await testEngine('pglite');
    await enrollSites(e.engine, SITES);
  });
  afterAll(async () => { await e.close(); });

  it('an unknown strategy name reaching the engine is STRATEGY_UNKNOWN (400), naming the known ones', async () => {
    const r = await refusal(e, plaintext({ name: 'fedsgd' }));
    expect(r).toMatchObject({ code: 'STRATEGY_UNKNOWN', http: 400 });
    expect(r.message).toContain('fedavg, fedprox, fedavgm');
  });

  it('a parameter the strategy does not take is STRATEGY_SETTINGS_INVALID (400), naming the ones it has', async () => {
    const r = await refusal(e, plaintext({ name: 'fedavgm', mu: 0.1 }));
    expect(r).toMatchObject({ code: 'STRATEGY_SETTINGS_INVALID', http: 400 });
    expect(r.message).toBe('strategy fedavgm has no parameter mu (it has serverLearningRate, momentum)');
  });

  it.each([
    ['momentum above its range', { name: 'fedavgm', momentum: 1.5 }],
    ['a server learning rate of 0 (its minimum is exclusive)', { name: 'fedadam', serverLearningRate: 0 }],
    ['a negative proximal weight', { name: 'fedprox', mu: -1 }],
  ])('%s is STRATEGY_SETTINGS_INVALID (400)', async (_why, strategy) => {
    expect(await refusal(e, plaintext(strategy))).toMatchObject({ code: 'STRATEGY_SETTINGS_INVALID', http: 400 });
  });

  it('krum on an encrypted job is STRATEGY_NEEDS_PLAINTEXT (400); on a plaintext job it is accepted', async () => {
    expect(await refusal(e, encrypted({ name: 'krum' }))).toMatchObject({ code: 'STRATEGY_NEEDS_PLAINTEXT', http: 400 });
    const job = await e.engine.createJob(plaintext({ name: 'krum', byzantine: 1 }), 'tester');
    expect(job.status).toBe('running');
    await e.engine.stopJob(job.id, 'test finished');
  });

  it.each(['fedadam', 'fedavgm', 'fedyogi'])('%s (a weighted-mean strategy) is accepted on an encrypted job', async (name) => {
    const job = await e.engine.createJob(encrypted({ name }), 'tester');
    expect(job).toMatchObject({ status: 'running', encrypted: true });
    expect(job.spec.strategy).toEqual({ name });
    await e.engine.stopJob(job.id, 'test finished');
  });

  it('the REST schema lists the registry\'s names (refusing others) and passes the parameters on to these checks', () => {
    const body = { name: 'n', features: ['f1'], label: 'y', classes: ['n', 'y'], sites: ['site-a'] };
    const schema = JobSpecSchema.properties.strategy as unknown as { properties: Record<string, { enum?: string[] }> };
    expect(schema.properties.name!.enum).toEqual(['fedavg', 'fedprox', 'fedavgm', 'fedadam', 'fedyogi', 'fedadagrad', 'fedmedian', 'fedtrimmedavg', 'krum']);
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['mu', 'momentum', 'serverLearningRate', 'beta1', 'beta2', 'tau', 'byzantine']));
    expect(validated(JobSpecSchema, body, 'job').strategy).toEqual({ name: 'fedavg' });
    // Which parameters a strategy takes is resolveStrategy's to say (STRATEGY_SETTINGS_INVALID), not the schema's.
    expect(validated(JobSpecSchema, { ...body, strategy: { name: 'fedavg', mu: 0.1 } }, 'job').strategy).toEqual({ name: 'fedavg', mu: 0.1 });
    expect(() => validated(JobSpecSchema, { ...body, strategy: { name: 'fedsgd' } }, 'job')).toThrow('/strategy/name');
    expect(() => validated(JobSpecSchema, { ...body, strategy: { name: 'fedavgm', momentum: 'high' } }, 'job')).toThrow('/strategy/momentum');
  });
});
