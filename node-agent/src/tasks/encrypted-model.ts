import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  applyServerStep, decodeServerState, decodeVector, decryptAggregate, decryptExact, encodeServerState, encodeVector, fromLimbs,
  MedfedError, resolveStrategy, toMeanDelta, type ServerState, type Standardization,
} from '@medfed/proto';
import { standardizationFromSums } from '../data/index.js';
import type { ChainLink, TaskEncryption } from './encryption-context.js';
import type { TaskContext } from './task-context.js';
import { expectedArtifact } from '../verification/expected.js';
import { writeFileAtomic } from '../privacy/ledger/atomic-write.js';

/**
 * What rebuilding the global model reads of a task's context (a release step has no dataset or
 * trainer): the spec names the strategy whose server step each round applies.
 */
export type ModelContext = Pick<TaskContext, 'client' | 'siteId' | 'task' | 'spec' | 'log' | 'stateDir' | 'keyStore' | 'fetchWrappedKey'>;

/** The job's HE key at this site (fetched and unwrapped once, then from the 0600 key file or memory). */
export async function jobKey(ctx: ModelContext, enc: TaskEncryption) {
  const { epoch, paramSet, keyId, publicParams, publicParamsManifest } = enc.settings;
  // Training and evaluation tasks carry the epoch's signed public parameters; release and statistics tasks do not yet.
  if (publicParams !== undefined || publicParamsManifest !== undefined) {
    await ctx.client.verifier?.checkPublicParams({ job: ctx.task.jobId, epoch, paramSet, keyId }, publicParams, publicParamsManifest);
  }
  return ctx.keyStore.get(ctx.task.jobId, enc.settings.epoch, enc.settings.paramSet, enc.settings.keyId,
    () => ctx.fetchWrappedKey(ctx.task.jobId, enc.settings.epoch));
}

/** The key an encrypted sum is under: its own epoch's (a sum from before a site change), or the current one. */
export async function keyFor(ctx: ModelContext, enc: TaskEncryption, link: ChainLink) {
  if (link.epoch === undefined || link.keyId === undefined || link.epoch === enc.settings.epoch) return jobKey(ctx, enc);
  const { epoch, keyId } = link;
  return ctx.keyStore.get(ctx.task.jobId, epoch, enc.settings.paramSet, keyId, () => ctx.fetchWrappedKey(ctx.task.jobId, epoch));
}

async function download(ctx: ModelContext, link: ChainLink): Promise<Buffer> {
  return (await ctx.client.downloadModel(ctx.siteId, ctx.task.jobId, link.modelId, link.sha256, expectedArtifact(link, ctx.task.deadlineMs))).bytes;
}

/** One link's cache: the global model after that round and the strategy's state beside it. */
interface CachedLink {
  readonly global: Float32Array;
  readonly state: ServerState | null;
}

/**
 * The decrypted-model cache in `<stateDir>/models/<job>/`: per round sum `<modelId>.f32` (the
 * global model after the round) and `<modelId>.state` (the strategy's server state after it; empty
 * for a strategy that keeps none). The state is written first, then the model, each atomically: a
 * model without its state is a crash between the two, or a cache from before server steps existed,
 * and counts as not cached.
 */
class ModelCache {
  readonly #dir: string;

  constructor(stateDir: string, job: string) {
    this.#dir = join(stateDir, 'models', job);
  }

  async open(): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
  }

  #paths(link: ChainLink): { model: string; state: string } {
    return { model: join(this.#dir, `${link.modelId}.f32`), state: join(this.#dir, `${link.modelId}.state`) };
  }

  /** The cached link, or null when either file is missing or does not fit the model. */
  async read(link: ChainLink, paramCount: number): Promise<CachedLink | null> {
    const paths = this.#paths(link);
    const model = await readFile(paths.model).catch(() => null);
    const stateBytes = await readFile(paths.state).catch(() => null);
    if (!model || !stateBytes || model.byteLength !== paramCount * 4) return null;
    let state: ServerState | null = null;
    if (stateBytes.byteLength > 0) {
      try {
        state = decodeServerState(stateBytes);
      } catch {
        return null;
      }
      if (Object.values(state.vectors).some((v) => v.length !== paramCount)) return null;
    }
    return { global: decodeVector(model, 'float32', paramCount), state };
  }

  async write(link: ChainLink, cached: CachedLink): Promise<void> {
    const paths = this.#paths(link);
    await writeFileAtomic(paths.state, cached.state ? encodeServerState(cached.state) : new Uint8Array(0), 0o600);
    await writeFileAtomic(paths.model, encodeVector(cached.global), 0o600);
  }
}

/**
 * The global model of an encrypted job, reconstructed at the site: the public initial model, then
 * for every round the job's server step (proto/src/strategy) on the decrypted weighted mean of the
 * sites' updates. Every site runs the same deterministic step on the same decrypted sum, so all
 * hold a bit-identical model (and report its digest with their evaluation). Each link's model and
 * server state are cached in the agent's state dir (inside the hospital), so a round decrypts one
 * new sum; a site that joins late, or lost its cache, replays the whole chain, and says what it cost.
 */
export async function reconstructGlobal(ctx: ModelContext, enc: TaskEncryption, paramCount: number): Promise<Float32Array> {
  // Checked as an encrypted job's: only a strategy that combines the sum can run here.
  const strategy = resolveStrategy(ctx.spec.strategy, { encrypted: true });
  const began = performance.now();
  const cache = new ModelCache(ctx.stateDir, ctx.task.jobId);
  await cache.open();
  let start = 0;
  let current: CachedLink | null = null;
  for (let i = enc.chain.length - 1; i >= 1; i--) {
    current = await cache.read(enc.chain[i]!, paramCount);
    if (current) {
      start = i + 1;
      break;
    }
  }
  if (!current) {
    const initial = enc.chain[0];
    if (!initial || initial.kind !== 'weights') throw new MedfedError('TASK_INVALID', 'the model chain does not start with the initial model');
    current = { global: decodeVector(await download(ctx, initial), 'float32', paramCount), state: null };
    start = 1;
  }
  const links = enc.chain.slice(start);
  for (const link of links) {
    const { ctx: he, key } = await keyFor(ctx, enc, link);
    const average = decryptAggregate(he, key, await download(ctx, link), { totalWeight: link.totalWeight! });
    if (average.length !== paramCount) throw new MedfedError('TASK_INVALID', `round ${link.round} sum has ${average.length} values, not ${paramCount}`);
    current = applyServerStep(strategy, current.global, toMeanDelta(average), current.state);
    await cache.write(link, current);
  }
  if (links.length > 0) {
    const ms = Math.round(performance.now() - began);
    // A replay from the initial model is what a joining site (or one that lost its cache) pays: reported at info.
    const fields = { job: ctx.task.jobId, round: ctx.task.round, strategy: strategy.definition.name, sums: links.length, ms, replayed: start === 1 };
    ctx.log[start === 1 ? 'info' : 'debug'](fields, `model rebuilt: ${links.length} sum${links.length === 1 ? '' : 's'} decrypted in ${ms} ms`);
  }
  return current.global;
}

/** Federated standardisation of an encrypted job: every site decrypts the summed statistics itself. */
export async function decryptStandardization(ctx: TaskContext, enc: TaskEncryption, features: number): Promise<Standardization | undefined> {
  if (!enc.statsSum) return undefined;
  const { ctx: he, key } = await keyFor(ctx, enc, enc.statsSum);
  const limbs = decryptExact(he, key, await download(ctx, enc.statsSum));
  return standardizationFromSums(fromLimbs(limbs), features);
}
