import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobSpec } from '@medfed/proto';
import { verifyCosignatures, Witness } from '@medfed/proto/tlog/index';
import { CoordinatorClient } from '@medfed/node-agent/transport/client';
import {
  createModelVerifier, expectedArtifact, loadOrCreateWitnessKey, type CosignatureWaitLog, type ModelVerifier,
} from '@medfed/node-agent/verification/index';
import { startTestCoordinator, type TestCoordinator } from '../support/coordinator.js';
import { codeOf } from '../support/error-code.js';

const SITES = ['site-a', 'site-b', 'site-c'];
const K = 2;

const spec = (name: string): JobSpec => ({
  name, features: ['f1', 'f2', 'f3'], label: 'y', classes: ['no', 'yes'],
  model: { hidden: [], activation: 'relu' },
  training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 7 },
  rounds: 1, minSites: 2, roundDeadlineSeconds: 30, strategy: { name: 'fedavg' }, sites: SITES, standardization: 'none',
});

interface LogLine { readonly level: 'debug' | 'warn'; readonly fields: Record<string, unknown> }

/**
 * k-of-n witnesses in a running federation: a real coordinator on PostgreSQL, real gRPC, and each
 * site's real download path (CoordinatorClient.downloadModel with its ModelVerifier), every site
 * requiring k = 2 cosignatures by the other two sites' pinned witness keys.
 */
describe('witness cosignatures: k = 2 at every site of three (PostgreSQL, gRPC)', () => {
  let t: TestCoordinator;
  let work: string;
  let trust: { manifestJwks: string; checkpointKey: string };
  /** The federation's roster of witness keys; each site pins all three (its own never counts for itself). */
  const roster: string[] = [];
  const sites = new Map<string, { client: CoordinatorClient; verifier: ModelVerifier; lines: LogLine[] }>();
  const extra: CoordinatorClient[] = [];

  const sink = (lines: LogLine[]): CosignatureWaitLog => ({
    debug: (fields) => { lines.push({ level: 'debug', fields }); },
    warn: (fields) => { lines.push({ level: 'warn', fields }); },
  });

  async function siteAgent(site: string, stateDir: string, settings: { requiredCosignatures: number; witnessKeys: string[] }) {
    const client = new CoordinatorClient(t.coordinator.grpc);
    const lines: LogLine[] = [];
    const verifier = await createModelVerifier({
      env: 'production', siteId: site, stateDir, trust: { ...trust, ...settings }, log: sink(lines),
      submitCosignature: async (c) => { await client.submitCosignature(site, c); },
      onWarning: (m, err) => { throw new Error(`${m}: ${String(err)}`); },
    });
    client.verifier = verifier;
    await client.enroll(site, 'test', 'digest'); // registers this site's witness key
    return { client, verifier, lines };
  }

  async function modelOf(jobId: string): Promise<{ id: string; sha256: string }> {
    const { rows } = await t.coordinator.db.query<{ id: string; sha256: string }>('SELECT id, sha256 FROM models WHERE job_id = $1 AND round = 0', [jobId]);
    return rows[0]!;
  }

  const download = (site: string, jobId: string, model: { id: string; sha256: string }, deadlineMs: number) =>
    sites.get(site)!.client.downloadModel(site, jobId, model.id, model.sha256, expectedArtifact({ round: 0, kind: 'weights' }, deadlineMs));

  async function until(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
    for (const end = Date.now() + ms; !cond(); await new Promise((r) => setTimeout(r, 20))) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    }
  }

  beforeAll(async () => {
    t = await startTestCoordinator('postgres');
    work = await mkdtemp(join(tmpdir(), 'medfed-witness-'));
    const jwksFile = join(work, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify(t.coordinator.publisher.jwks()));
    trust = { manifestJwks: jwksFile, checkpointKey: t.coordinator.publisher.checkpointKey };
    // Each site's witness key exists before the roster is exchanged out of band.
    for (const s of SITES) {
      await t.coordinator.engine.registerSite(s, s);
      const first = await createModelVerifier({ env: 'production', siteId: s, stateDir: join(work, s), trust, onWarning: () => {} });
      roster.push(first.witnessVkey);
    }
    for (const s of SITES) sites.set(s, await siteAgent(s, join(work, s), { requiredCosignatures: K, witnessKeys: roster }));
  }, 120_000);

  afterAll(async () => {
    for (const { client } of sites.values()) client.close();
    for (const c of extra) c.close();
    await t?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("loads a round's model at all three sites: the first to download waits for the others' cosignatures instead of failing", async () => {
    const job = await t.coordinator.engine.createJob(spec('cosigned'), 'tester');
    const a = sites.get('site-a')!;
    const task = (await a.client.pollTask('site-a', 2000)).task!;
    expect(task.jobId).toBe(job.id);
    expect(task.deadlineMs).toBeGreaterThan(Date.now());
    const model = { id: task.modelId, sha256: task.modelSha256 };

    // site-a alone: nobody else has cosigned the checkpoint yet, so it is refused and tried again.
    const first = download('site-a', job.id, model, task.deadlineMs);
    await until('site-a to retry', () => a.lines.some((l) => l.level === 'debug' && l.fields.code === 'COSIGNATURES_INSUFFICIENT'));
    const cosignedSize = a.verifier.knownTreeSize();
    // The head moves on (a newer leaf, a fresh checkpoint nobody has cosigned): the cosigned one is still served.
    await t.coordinator.publisher.tlog.append('an unrelated leaf');
    const head = await t.coordinator.publisher.tlog.checkpoint();
    expect(head.size).toBeGreaterThan(cosignedSize);

    const results = await Promise.all([first, download('site-b', job.id, model, task.deadlineMs), download('site-c', job.id, model, task.deadlineMs)]);
    for (const r of results) expect(r.header.modelId).toBe(model.id);
    // Every site converged on the one checkpoint the others cosigned, not the newer head.
    for (const s of SITES) expect(sites.get(s)!.verifier.knownTreeSize()).toBe(cosignedSize);
    const stored = await t.coordinator.publisher.tlog.checkpointAt(cosignedSize);
    expect(verifyCosignatures(stored!.note, { witnessKeys: roster, required: 3 })).toHaveLength(3);
    expect(a.lines.filter((l) => l.level === 'warn')).toEqual([]);
  }, 120_000);

  it('refuses at start a site that requires k = 3 when only two other witnesses exist', async () => {
    const err = await createModelVerifier({
      env: 'production', siteId: 'site-a', stateDir: join(work, 'site-a'), onWarning: () => {},
      trust: { ...trust, requiredCosignatures: 3, witnessKeys: roster },
    }).catch((e: unknown) => e);
    expect((err as { code: string }).code).toBe('TRUST_ANCHORS_INVALID');
  });

  it('does not count cosignatures by keys a site did not pin; it gives up at its deadline with COSIGNATURES_INSUFFICIENT', async () => {
    const job = await t.coordinator.engine.createJob(spec('unpinned'), 'tester');
    const model = await modelOf(job.id);
    const { leafIndex } = await t.coordinator.publisher.manifestOf(model.id);
    // Two registered witnesses that no site pinned cosign the checkpoint that includes the new model.
    const checkpoint = await t.coordinator.publisher.tlog.checkpoint();
    expect(checkpoint.size).toBeGreaterThan(leafIndex);
    const strangers = await Promise.all(['site-x', 'site-y'].map(async (s) => {
      await t.coordinator.engine.registerSite(s, s);
      const dir = join(work, s);
      const client = new CoordinatorClient(t.coordinator.grpc);
      extra.push(client);
      client.verifier = await createModelVerifier({ env: 'production', siteId: s, stateDir: dir, trust, onWarning: () => {} });
      await client.enroll(s, 'test', 'digest');
      const witness = new Witness({ signer: await loadOrCreateWitnessKey(dir, s), logs: [trust.checkpointKey] });
      return { s, client, vkey: client.verifier.witnessVkey, cosigned: await witness.cosign(checkpoint.note, []) };
    }));
    // Sent at the same moment: both lines are kept (the stored note is merged compare-and-set).
    await Promise.all(strangers.map(({ s, client, cosigned }) => client.submitCosignature(s, cosigned)));
    const cosignedByStrangers = (await t.coordinator.publisher.tlog.checkpointAt(checkpoint.size))!.note;
    expect(verifyCosignatures(cosignedByStrangers, { witnessKeys: strangers.map((x) => x.vkey), required: 2 })).toHaveLength(2);
    expect(verifyCosignatures(cosignedByStrangers, { witnessKeys: roster, required: 0 })).toHaveLength(0);

    // site-a is served that checkpoint (the most cosigned), counts none of its lines, and stops at its deadline.
    const a = sites.get('site-a')!;
    a.lines.length = 0;
    const started = Date.now();
    expect(await codeOf(download('site-a', job.id, model, started + 2000))).toBe('COSIGNATURES_INSUFFICIENT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(a.verifier.knownTreeSize()).toBe(checkpoint.size);
    expect(a.lines.filter((l) => l.level === 'debug').length).toBeGreaterThanOrEqual(1);
    expect(a.lines.filter((l) => l.level === 'warn')).toHaveLength(1);

    // The pinned witnesses then cosign it (site-b waits for site-c, which counts site-a's and site-b's), and site-a loads it.
    const deadline = Date.now() + 60_000;
    await Promise.all([download('site-b', job.id, model, deadline), download('site-c', job.id, model, deadline)]);
    expect(await codeOf(download('site-a', job.id, model, Date.now()))).toBe('OK');
    expect(verifyCosignatures((await t.coordinator.publisher.tlog.checkpointAt(checkpoint.size))!.note, { witnessKeys: roster, required: 3 })).toHaveLength(3);
  }, 120_000);
});
