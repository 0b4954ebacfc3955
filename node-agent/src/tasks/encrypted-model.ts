import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  decodeVector, decryptAggregate, decryptExact, encodeVector, fromLimbs, MedfedError, type Standardization,
} from '@medfed/proto';
import { standardizationFromSums } from '../data/index.js';
import type { ChainLink, TaskEncryption } from './encryption-context.js';
import type { TaskContext } from './task-context.js';
import { expectedArtifact } from '../verification/expected.js';

/** What rebuilding the global model reads of a task's context (a release step has no dataset or trainer). */
export type ModelContext = Pick<TaskContext, 'client' | 'siteId' | 'task' | 'stateDir' | 'keyStore' | 'fetchWrappedKey'>;

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

/**
 * The global model of an encrypted job, reconstructed at the site: the public initial model plus
 * the decrypted average update of every round so far. Decrypted models are cached in the agent's
 * state dir (inside the hospital), so each round decrypts one new sum.
 */
export async function reconstructGlobal(ctx: ModelContext, enc: TaskEncryption, paramCount: number): Promise<Float32Array> {
  const cacheDir = join(ctx.stateDir, 'models', ctx.task.jobId);
  await mkdir(cacheDir, { recursive: true, mode: 0o700 });
  const path = (l: ChainLink) => join(cacheDir, `${l.modelId}.f32`);
  let start = 0;
  let global: Float32Array | null = null;
  for (let i = enc.chain.length - 1; i >= 0; i--) {
    const cached = await readFile(path(enc.chain[i]!)).catch(() => null);
    if (cached && cached.byteLength === paramCount * 4) {
      global = decodeVector(cached, 'float32', paramCount);
      start = i + 1;
      break;
    }
  }
  if (!global) {
    const initial = enc.chain[0];
    if (!initial || initial.kind !== 'weights') throw new MedfedError('TASK_INVALID', 'the model chain does not start with the initial model');
    global = decodeVector(await download(ctx, initial), 'float32', paramCount);
    start = 1;
  }
  for (const link of enc.chain.slice(start)) {
    const { ctx: he, key } = await keyFor(ctx, enc, link);
    const average = decryptAggregate(he, key, await download(ctx, link), { totalWeight: link.totalWeight! });
    if (average.length !== paramCount) throw new MedfedError('TASK_INVALID', `round ${link.round} sum has ${average.length} values, not ${paramCount}`);
    const next = new Float32Array(paramCount);
    for (let j = 0; j < paramCount; j++) next[j] = global[j]! + average[j]!;
    global = next;
    const tmp = `${path(link)}.tmp`;
    await writeFile(tmp, encodeVector(global), { mode: 0o600 });
    await rename(tmp, path(link));
  }
  return global;
}

/** Federated standardisation of an encrypted job: every site decrypts the summed statistics itself. */
export async function decryptStandardization(ctx: TaskContext, enc: TaskEncryption, features: number): Promise<Standardization | undefined> {
  if (!enc.statsSum) return undefined;
  const { ctx: he, key } = await keyFor(ctx, enc, enc.statsSum);
  const limbs = decryptExact(he, key, await download(ctx, enc.statsSum));
  return standardizationFromSums(fromLimbs(limbs), features);
}
