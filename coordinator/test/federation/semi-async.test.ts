import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  applyServerStep, decodeVector, FixedPointMean, resolveStrategy, sha256Hex, stalenessWeight, type JobSpec,
} from '@medfed/proto';
import type { FederationEngine } from '../../src/federation/engine.js';
import { describeJob } from '../../src/federation/job-view.js';
import { BACKENDS } from '../support/databases.js';
import { f32, jobSpec, testEngine, type TestEngine } from '../support/engine.js';

/**
 * Semi-asynchronous rounds on the coordinator: a training round closes at closeAfter updates; a
 * site whose fresh update comes after its round closed is refused ROUND_CLOSED naming the open
 * round, and the same update re-sent there with its base round counts at stalenessWeight.
 */
const SITES = ['site-a', 'site-b', 'site-c', 'site-d', 'site-e'];
const DELTAS: Record<string, number[]> = {
  'site-a': [0.5, -1, 0.25, 0.125, -0.75, 0.3],
  'site-b': [0.1, 0.2, -0.3, 0.4, 0.05, -0.6],
  'site-c': [-0.2, 0.3, 0.1, -0.05, 0.2, 0.7],
  'site-d': [0.15, -0.25, 0.35, 0.1, -0.4, 0.2],
  'site-e': [0.3, 0.05, -0.15, -0.2, 0.45, -0.1],
};

const bits = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');

async function refusal(p: Promise<unknown>): Promise<{ code?: string; message: string; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    return err as { code?: string; message: string; details?: Record<string, unknown> };
  }
  throw new Error('expected a refusal');
}

function upload(engine: FederationEngine, jobId: string, siteId: string, round: number, baseModelId: string, baseRound?: number) {
  const bytes = Buffer.from(f32(DELTAS[siteId]!));
  return engine.acceptUpdate({
    siteId, jobId, round, submissionId: `${jobId}:${round}:${siteId}`, numSamples: 10, byteSize: bytes.byteLength,
    sha256: sha256Hex(bytes), baseModelId, ...(baseRound === undefined ? {} : { baseRound }),
  }, bytes);
}

async function roundOf(engine: FederationEngine, jobId: string, round: number) {
  const row = (await engine.rounds(jobId)).find((r) => r.round === round);
  if (!row) throw new Error(`job ${jobId} has no round ${round}`);
  return row;
}

async function modelOf(engine: FederationEngine, jobId: string, modelId: string): Promise<Float32Array> {
  const model = await engine.model(jobId, modelId);
  return decodeVector(await engine.modelBytes(model), 'float32', model.param_count);
}

describe.each(BACKENDS)('semi-asynchronous rounds on %s', (backend) => {
  let e: TestEngine;
  beforeAll(async () => {
    e = await testEngine(backend);
    for (const s of SITES) await e.engine.registerSite(s, s);
  });
  afterAll(async () => { await e.close(); });
  afterEach(async () => {
    for (const j of await e.engine.listJobs()) if (j.status === 'running') await e.engine.stopJob(j.id, 'test finished');
  });

  const semiSpec = (over: Partial<JobSpec> = {}): JobSpec => jobSpec({
    sites: SITES, minSites: 2, rounds: 3, strategy: { name: 'fedavg', closeAfter: 3, maxStaleness: 1 }, ...over,
  });

  it('refuses a closeAfter below minSites, above the training sites, or below 3 on an encrypted job', async () => {
    const before = (await e.engine.listJobs()).length;
    const low = await refusal(e.engine.createJob(semiSpec({ minSites: 4 }), 'tester'));
    expect(low.code).toBe('JOB_SPEC_INVALID');
    expect(low.message).toMatch(/closeAfter 3 is below minSites 4/);
    const high = await refusal(e.engine.createJob(semiSpec({ strategy: { name: 'fedavg', closeAfter: 6 } }), 'tester'));
    expect(high.code).toBe('JOB_SPEC_INVALID');
    expect(high.message).toMatch(/closeAfter 6 exceeds the 5 training sites/);
    const encrypted = semiSpec({
      minSites: 2, strategy: { name: 'fedavg', closeAfter: 2 },
      encryption: { enabled: true, paramSet: 'bfv-n4096-q60-t48-2x23', clipNorm: 5, fracBits: 0 },
    });
    const enc = await refusal(e.engine.createJob(encrypted, 'tester'));
    expect(enc.code).toBe('JOB_SPEC_INVALID');
    expect(enc.message).toMatch(/closeAfter 2 is below 3: an encrypted round/);
    expect((await e.engine.listJobs()).length).toBe(before);
  });

  it('closes at closeAfter, counts a late update in the open round at its staleness weight, and refuses what does not fit', async () => {
    const job = await e.engine.createJob(semiSpec(), 'tester');
    const fracBits = job.spec.encryption!.fracBits;
    const strategy = resolveStrategy(job.spec.strategy, { encrypted: false });
    const share = 1 / SITES.length; // no statistics round: equal shares
    const m0 = (await roundOf(e.engine, job.id, 1)).input_model_id!;

    await upload(e.engine, job.id, 'site-a', 1, m0);
    await upload(e.engine, job.id, 'site-b', 1, m0);
    await e.engine.advance(job.id);
    expect((await roundOf(e.engine, job.id, 1)).status).toBe('collecting');
    await upload(e.engine, job.id, 'site-c', 1, m0);
    await e.engine.advance(job.id);
    const r1 = await roundOf(e.engine, job.id, 1);
    expect(r1.status).toBe('closed');
    expect((await roundOf(e.engine, job.id, 2)).status).toBe('open');

    // Round 1: three fresh updates at equal shares.
    const global0 = await modelOf(e.engine, job.id, m0);
    const mean1 = new FixedPointMean(global0.length, fracBits);
    for (const s of ['site-a', 'site-b', 'site-c']) mean1.add(Float32Array.from(DELTAS[s]!), share);
    const global1 = applyServerStep(strategy, global0, mean1.mean(share + share + share), null).global;
    expect(bits(await modelOf(e.engine, job.id, r1.output_model_id!))).toBe(bits(global1));

    // site-d's fresh round-1 update is too late; the refusal names round 2.
    const closed = await refusal(upload(e.engine, job.id, 'site-d', 1, m0));
    expect(closed.code).toBe('ROUND_CLOSED');
    expect(closed.details).toEqual({ openRound: 2 });

    // Re-sent for round 2 with base round 1: counted there, and its round-2 task is done.
    const m1 = r1.output_model_id!;
    const late = await upload(e.engine, job.id, 'site-d', 2, m0, 1);
    expect(late.alreadyAccepted).toBe(false);
    expect(late.contribution.round).toBe(2);
    expect(late.contribution.base_round).toBe(1);
    const { rows: tasks } = await e.t.db.query<{ state: string }>(
      'SELECT state FROM site_tasks WHERE job_id = $1 AND round = 2 AND site_id = $2', [job.id, 'site-d']);
    expect(tasks.map((t) => t.state)).toEqual(['submitted']);
    expect(await e.engine.pollTask('site-d')).toBeNull();
    // The same request again is an idempotent retry.
    expect((await upload(e.engine, job.id, 'site-d', 2, m0, 1)).alreadyAccepted).toBe(true);

    // Train metrics of the late update go with the round it counted in.
    await e.engine.reportMetrics({ siteId: 'site-d', jobId: job.id, round: 2, phase: 'train', modelRound: 0, loss: 0.5, accuracy: 0.75, numSamples: 10 });
    const { rows: metrics } = await e.t.db.query<{ round: number; phase: string }>(
      'SELECT round, phase FROM metrics WHERE job_id = $1 AND site_id = $2', [job.id, 'site-d']);
    expect(metrics).toEqual([{ round: 2, phase: 'train' }]);

    // Two fresh updates make three: round 2 closes on the late one's discounted weight.
    await upload(e.engine, job.id, 'site-a', 2, m1);
    await e.engine.advance(job.id);
    expect((await roundOf(e.engine, job.id, 2)).status).toBe('collecting');
    await upload(e.engine, job.id, 'site-b', 2, m1);
    await e.engine.advance(job.id);
    const r2 = await roundOf(e.engine, job.id, 2);
    expect(r2.status).toBe('closed');
    const lateWeight = stalenessWeight(share, 1);
    expect(lateWeight).toBeLessThan(share);
    const mean2 = new FixedPointMean(global1.length, fracBits);
    mean2.add(Float32Array.from(DELTAS['site-a']!), share);
    mean2.add(Float32Array.from(DELTAS['site-b']!), share);
    mean2.add(Float32Array.from(DELTAS['site-d']!), lateWeight);
    const global2 = applyServerStep(strategy, global1, mean2.mean(share + share + lateWeight), null).global;
    expect(bits(await modelOf(e.engine, job.id, r2.output_model_id!))).toBe(bits(global2));
    // Not what equal weights would have given: the discount shows in the model.
    const equal = new FixedPointMean(global1.length, fracBits);
    for (const s of ['site-a', 'site-b', 'site-d']) equal.add(Float32Array.from(DELTAS[s]!), share);
    expect(bits(applyServerStep(strategy, global1, equal.mean(3 * share), null).global)).not.toBe(bits(global2));

    const view = await describeJob(e.engine, e.t.db, job.id);
    expect(view.rounds.find((r) => r.round === 2)!.late).toEqual([{ site: 'site-d', baseRound: 1, staleness: 1 }]);
    expect(view.rounds.find((r) => r.round === 1)!.late).toEqual([]);

    // Round 3 is open. Staleness 2 exceeds maxStaleness 1.
    const stale = await refusal(upload(e.engine, job.id, 'site-e', 3, m0, 1));
    expect(stale.code).toBe('UPDATE_TOO_STALE');
    expect(stale.message).toMatch(/staleness 2.*maxStaleness 1/);
    // A base model that is not the input of the base round.
    const wrongModel = await refusal(upload(e.engine, job.id, 'site-e', 3, m0, 2));
    expect(wrongModel.code).toBe('ROUND_MISMATCH');
    expect(wrongModel.message).toMatch(/round 2 \(its base_round\) starts from/);
    // An update trained for round 2 by a site whose round-2 update already counted.
    const twice = await refusal(upload(e.engine, job.id, 'site-a', 3, m1, 2));
    expect(twice.code).toBe('DUPLICATE_SUBMISSION');
    // A base round after the round it is to count in.
    expect((await refusal(upload(e.engine, job.id, 'site-e', 2, m1, 3))).code).toBe('ROUND_MISMATCH');
    // A late update for a round that is no longer open: ROUND_CLOSED naming the open one.
    const old = await refusal(upload(e.engine, job.id, 'site-e', 2, m0, 1));
    expect(old.code).toBe('ROUND_CLOSED');
    expect(old.details).toEqual({ openRound: 3 });
    // The right base model: accepted at staleness 1.
    expect((await upload(e.engine, job.id, 'site-e', 3, m1, 2)).contribution.base_round).toBe(2);
    expect(e.problems).toEqual([]);
  });

  it('a synchronous job refuses base_round (ROUND_MISMATCH) and its ROUND_CLOSED names no round', async () => {
    const job = await e.engine.createJob(jobSpec({ sites: ['site-a', 'site-b'], minSites: 1, rounds: 3 }), 'tester');
    const m0 = (await roundOf(e.engine, job.id, 1)).input_model_id!;
    await upload(e.engine, job.id, 'site-a', 1, m0);
    await e.engine.reportFailure('site-b', job.id, 1, 'TRAINING_FAILED: test');
    await e.engine.advance(job.id);
    const r1 = await roundOf(e.engine, job.id, 1);
    expect(r1.status).toBe('closed');
    // The job runs on with round 2 open, yet a late round-1 update is neither redirected nor counted.
    const closed = await refusal(upload(e.engine, job.id, 'site-b', 1, m0));
    expect(closed.code).toBe('ROUND_CLOSED');
    expect(closed.details).toBeUndefined();
    const late = await refusal(upload(e.engine, job.id, 'site-b', 2, m0, 1));
    expect(late.code).toBe('ROUND_MISMATCH');
    expect(late.message).toMatch(/synchronous rounds/);
    const { rows } = await e.t.db.query('SELECT 1 FROM contributions WHERE job_id = $1 AND round = 2', [job.id]);
    expect(rows).toHaveLength(0);
  });

  it('a semi-asynchronous job in its final evaluate round refuses a late training update without naming a round', async () => {
    const job = await e.engine.createJob(semiSpec({ rounds: 1 }), 'tester');
    const m0 = (await roundOf(e.engine, job.id, 1)).input_model_id!;
    for (const s of ['site-a', 'site-b', 'site-c']) await upload(e.engine, job.id, s, 1, m0);
    await e.engine.advance(job.id);
    expect((await roundOf(e.engine, job.id, 2)).kind).toBe('evaluate');
    const closed = await refusal(upload(e.engine, job.id, 'site-d', 1, m0));
    expect(closed.code).toBe('ROUND_CLOSED');
    expect(closed.details).toBeUndefined();
  });
});
