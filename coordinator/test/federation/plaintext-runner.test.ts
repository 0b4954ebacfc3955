import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  applyServerStep, decodeServerState, decodeVector, encodeVector, FixedPointMean, paramsSha256, resolveStrategy, sha256Hex,
  type JobSpec, type ServerState,
} from '@medfed/proto';
import type { FederationEngine } from '../../src/federation/engine.js';
import { describeJob } from '../../src/federation/job-view.js';
import { fracBitsFor } from '../../src/federation/key-ceremony.js';
import type { JobRow } from '../../src/federation/rows.js';
import { BACKENDS } from '../support/databases.js';
import { f32, jobSpec, submit, testEngine, type TestEngine } from '../support/engine.js';

/**
 * The coordinator's plaintext runner against the same computation done here from the proto pieces:
 * FixedPointMean with the weights an encrypted job announces (the statistics round's sample counts),
 * the job's fixed-point precision and the contributors' total weight, then the strategy's server step.
 * Equal bits, not closeness: that is what lets a plaintext run stand for its encrypted twin.
 */
const DELTAS: Record<number, Record<string, number[]>> = {
  1: { 'site-a': [0.5, -1, 0.25, 0.125, -0.75, 0.3], 'site-b': [0.1, 0.2, -0.3, 0.4, 0.05, -0.6] },
  2: { 'site-a': [-0.2, 0.3, 0.1, -0.05, 0.2, 0.7], 'site-b': [0.15, -0.25, 0.35, 0.1, -0.4, 0.2] },
};
const SAMPLES: Record<string, number> = { 'site-a': 10, 'site-b': 30 };

/** A site's feature statistics for the statistics round: count, sums and sums of squares (float64). */
const stats = (n: number) => encodeVector(Float64Array.from([n, n * 1, n * 2, n * 2, n * 5]));

async function modelOf(engine: FederationEngine, jobId: string, round: number): Promise<Float32Array> {
  const row = (await engine.rounds(jobId)).find((r) => r.round === round)!;
  const model = await engine.model(jobId, row.output_model_id ?? row.input_model_id!);
  return decodeVector(await engine.modelBytes(model), 'float32', model.param_count);
}

const bits = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');

describe.each(BACKENDS)('plaintext runner on %s', (backend) => {
  let e: TestEngine;
  beforeAll(async () => {
    e = await testEngine(backend);
    for (const s of ['site-a', 'site-b', 'site-c']) await e.engine.registerSite(s, s);
  });
  afterAll(async () => { await e.close(); });
  // A site's poll hands out the oldest running job's task first.
  afterEach(async () => {
    for (const j of await e.engine.listJobs()) if (j.status === 'running') await e.engine.stopJob(j.id, 'test finished');
  });

  it('fedavgm: two rounds equal FixedPointMean + applyServerStep bit for bit; the state round-trips through its blob', async () => {
    const spec = jobSpec({ sites: ['site-a', 'site-b'], minSites: 2, standardization: 'federated', strategy: { name: 'fedavgm', momentum: 0.8, serverLearningRate: 0.7 } });
    const job = await e.engine.createJob(spec, 'tester');
    const fracBits = fracBitsFor(spec.encryption!.paramSet, spec.encryption!.clipNorm, 2);
    // The plaintext job fixes the precision its encrypted twin would have.
    expect(job.spec.encryption?.fracBits).toBe(fracBits);

    for (const site of ['site-a', 'site-b']) await submit(e.engine, site, job.id, SAMPLES[site]!, stats(SAMPLES[site]!));
    await e.engine.advance(job.id);
    expect((await e.engine.job(job.id)).sample_counts).toEqual(SAMPLES);

    const strategy = resolveStrategy(spec.strategy, { encrypted: false });
    let global = await modelOf(e.engine, job.id, 1);
    let state: ServerState | null = null;
    for (const round of [1, 2]) {
      for (const site of ['site-a', 'site-b']) expect(await submit(e.engine, site, job.id, 1, f32(DELTAS[round]![site]!))).toBe(round);
      await e.engine.advance(job.id);

      const mean = new FixedPointMean(global.length, fracBits);
      for (const site of ['site-a', 'site-b']) mean.add(Float32Array.from(DELTAS[round]![site]!), SAMPLES[site]! / 40);
      const expected = applyServerStep(strategy, global, mean.mean(10 / 40 + 30 / 40), state);
      const actual = await modelOf(e.engine, job.id, round);
      expect(bits(actual)).toBe(bits(expected.global));

      const row = await e.engine.job(job.id);
      expect(row.strategy_state_key).toMatch(new RegExp(`^strategy-state/${job.id}/${round}-[0-9a-f]{64}$`));
      const stored = await e.blobs.get(row.strategy_state_key!);
      expect(sha256Hex(stored)).toBe(row.strategy_state_sha256);
      expect(bits(decodeServerState(stored).vectors.velocity!)).toBe(bits(expected.state!.vectors.velocity!));
      global = expected.global;
      state = expected.state;
    }

    // Each round's agreed digest is the stored model's, which is the digest a site reports for it.
    const view = await describeJob(e.engine, e.t.db, job.id);
    expect(view.rounds.find((r) => r.round === 2)?.paramsSha256).toBe(paramsSha256(global));
    expect(view.models.find((m) => m.round === 2 && m.kind === 'weights')?.sha256).toBe(paramsSha256(global));
    expect(e.problems).toEqual([]);
  });

  it('fedmedian: the round is combineIndividual over the sites\' deltas, then the strategy\'s step', async () => {
    const sites = ['site-a', 'site-b', 'site-c'];
    const spec: JobSpec = jobSpec({ sites, minSites: 3, rounds: 1, strategy: { name: 'fedmedian' } });
    const job = await e.engine.createJob(spec, 'tester');
    const global = await modelOf(e.engine, job.id, 1);
    const deltas: Record<string, number[]> = {
      'site-a': [0.5, -1, 0.25, 0.125, -0.75, 0.3], 'site-b': [0.1, 0.2, -0.3, 0.4, 0.05, -0.6], 'site-c': [9, 9, 9, -9, -9, -9],
    };
    for (const site of sites) await submit(e.engine, site, job.id, 5, f32(deltas[site]!));
    await e.engine.advance(job.id);

    const strategy = resolveStrategy(spec.strategy, { encrypted: false });
    const combined = strategy.definition.combineIndividual!(sites.map((siteId) => ({ siteId, weight: 1 / 3, delta: Float32Array.from(deltas[siteId]!) })), strategy.parameters);
    const expected = applyServerStep(strategy, global, combined, null);
    expect(bits(await modelOf(e.engine, job.id, 1))).toBe(bits(expected.global));
    // The outlier (site-c) moved no coordinate by its own size: every coordinate is a median of three.
    expect(Math.max(...Array.from(combined, Math.abs))).toBeLessThan(1);
    expect((await e.engine.job(job.id)).strategy_state_key).toBeNull();
  });
});

describe('plaintext runner: a state blob that no longer matches its digest', () => {
  let e: TestEngine;
  beforeAll(async () => {
    e = await testEngine('pglite');
    for (const s of ['site-a', 'site-b']) await e.engine.registerSite(s, s);
  });
  afterAll(async () => { await e.close(); });

  it('stops the close: the round stays aggregating and no model is stored for it', async () => {
    const job = await e.engine.createJob(jobSpec({ sites: ['site-a', 'site-b'], minSites: 2, strategy: { name: 'fedadam' } }), 'tester');
    for (const site of ['site-a', 'site-b']) await submit(e.engine, site, job.id, 1, f32(DELTAS[1]![site]!));
    await e.engine.advance(job.id);
    const after1: JobRow = await e.engine.job(job.id);
    expect(after1.current_round).toBe(2);
    await e.blobs.put(after1.strategy_state_key!, Buffer.from('not the state'));

    for (const site of ['site-a', 'site-b']) await submit(e.engine, site, job.id, 1, f32(DELTAS[2]![site]!));
    await expect(e.engine.advance(job.id)).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringContaining(after1.strategy_state_sha256!) });
    const round2 = (await e.engine.rounds(job.id)).find((r) => r.round === 2)!;
    expect(round2.status).toBe('aggregating');
    expect(round2.output_model_id).toBeNull();
  });
});
