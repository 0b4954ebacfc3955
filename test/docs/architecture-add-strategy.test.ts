import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  applyServerStep, decodeEncryptedVector, decodeServerState, decryptAggregate, DEFAULT_UPDATE_PARAM_SET, encodeEncryptedVector,
  encodeServerState, EncryptedAccumulator, encryptUpdate, FixedPointMean, generateKeys, heContext, importSecretKey,
  knownStrategyNames, paramsSha256, registerStrategy, resolveStrategy, toMeanDelta, unregisterStrategy, vectorHeader,
  type HeContext, type HeSecretKey, type ServerState, type StrategyDefinition,
} from '@medfed/proto';
import { fracBitsFor } from '@medfed/coordinator/federation/key-ceremony';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOC = join(ROOT, 'docs/architecture.md');
// Inside the repository (so that '@medfed/proto' resolves as in any module of ours), under a git-ignored folder.
const SCRATCH = join(ROOT, 'test-artifacts', `docs-add-strategy-${process.pid}`);

const PARAMS = 600;
const CLIP = 5;
const WEIGHTS = [0.5, 0.3125, 0.1875];
const ROUNDS = 3;

/** The first ```ts block after the "## Add a strategy" heading. */
function addStrategyExample(markdown: string): string {
  const heading = markdown.indexOf('\n## Add a strategy\n');
  if (heading < 0) throw new Error('docs/architecture.md has no "## Add a strategy" section');
  const match = /\n```ts\n([\s\S]*?)\n```\n/.exec(markdown.slice(heading));
  if (!match) throw new Error('the "Add a strategy" section has no ```ts block');
  return match[1]!;
}

/** Deterministic values in [-scale, scale] (xorshift32). */
function vector(seed: number, scale: number): Float32Array {
  let s = (Math.imul(seed + 1, 0x9e3779b1) ^ 0x5bd1e995) >>> 0 || 1;
  const out = new Float32Array(PARAMS);
  for (let i = 0; i < PARAMS; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = Math.fround((s / 4294967296 * 2 - 1) * scale);
  }
  return out;
}

/** A site's server state as it keeps it between rounds: the bytes in its state dir. */
const persisted = (state: ServerState | null) => (state ? encodeServerState(state) : null);
const restored = (bytes: Buffer | null) => (bytes ? decodeServerState(bytes) : null);

describe('docs/architecture.md, "Add a strategy": the worked example', () => {
  let definition: StrategyDefinition;
  let context: HeContext;
  let keyA: HeSecretKey;
  let keyB: HeSecretKey;

  beforeAll(async () => {
    const source = addStrategyExample(await readFile(DOC, 'utf8'));
    await mkdir(SCRATCH, { recursive: true });
    const file = join(SCRATCH, 'example-strategy.ts');
    await writeFile(file, `${source}\n`);
    const module = (await import(file)) as Record<string, unknown>;
    const exported = Object.values(module).filter((v): v is StrategyDefinition => typeof v === 'object' && v !== null && 'serverStep' in v);
    expect(exported).toHaveLength(1);
    definition = exported[0]!;
    registerStrategy(definition);
    context = await heContext(DEFAULT_UPDATE_PARAM_SET);
    // One job key, held by every site (the ceremony wraps the same key for each): site B imports its copy.
    keyA = generateKeys(context);
    keyB = importSecretKey(context, keyA.export());
  });

  afterAll(async () => {
    if (definition) unregisterStrategy(definition.name);
    keyA?.dispose();
    keyB?.dispose();
    await rm(SCRATCH, { recursive: true, force: true });
  });

  it('registers, and resolves as a sum-based strategy an encrypted job may use', () => {
    expect(knownStrategyNames()).toContain(definition.name);
    const resolved = resolveStrategy({ name: definition.name, serverLearningRate: 0.8 }, { encrypted: true });
    expect(resolved.parameters).toEqual({ serverLearningRate: 0.8, decay: 0.9 });
    expect(() => resolveStrategy({ name: definition.name, decay: 0 }, { encrypted: true })).toThrow(/decay must be a number in \(0, 1\]/);
  });

  it('three encrypted rounds: two decrypting sites and the plaintext twin hold the same model digest every round, and the model moves', () => {
    const strategy = resolveStrategy({ name: definition.name, serverLearningRate: 0.8, decay: 0.5 }, { encrypted: true });
    const fracBits = fracBitsFor(DEFAULT_UPDATE_PARAM_SET, CLIP, WEIGHTS.length);
    const encoding = { kind: 'fixed-point' as const, clip: CLIP, fracBits, maxSites: WEIGHTS.length };
    const totalWeight = WEIGHTS.reduce((a, b) => a + b, 0);
    const initial = vector(7, 0.5);
    const sites = { a: { key: keyA, global: initial, state: null as Buffer | null }, b: { key: keyB, global: initial, state: null as Buffer | null } };
    let twin = { global: initial, state: null as ServerState | null };
    for (let round = 1; round <= ROUNDS; round++) {
      const deltas = WEIGHTS.map((_, s) => vector(100 * round + s, 0.05));
      // The coordinator's part: add the three encrypted uploads it cannot read.
      const acc = EncryptedAccumulator.create(context, vectorHeader(context, keyA.keyId, PARAMS, encoding));
      let sum: Uint8Array;
      try {
        deltas.forEach((d, s) => {
          const upload = encodeEncryptedVector(encryptUpdate(context, keyA, d, { weight: WEIGHTS[s]!, clip: CLIP, fracBits, maxSites: WEIGHTS.length }));
          acc.addVector(`site-${s}`, decodeEncryptedVector(context, upload));
        });
        sum = acc.finish();
      } finally {
        acc.dispose();
      }
      // Every site: decrypt the sum, apply the server step with its own state.
      const digests: string[] = [];
      for (const site of Object.values(sites)) {
        const meanDelta = toMeanDelta(decryptAggregate(context, site.key, sum, { totalWeight }));
        const next = applyServerStep(strategy, site.global, meanDelta, restored(site.state));
        expect(paramsSha256(next.global)).not.toBe(paramsSha256(site.global));
        site.global = next.global;
        site.state = persisted(next.state);
        digests.push(paramsSha256(next.global));
      }
      // The plaintext runner: FixedPointMean over the same deltas and weights, then the same step.
      const mean = new FixedPointMean(PARAMS, fracBits);
      deltas.forEach((d, s) => mean.add(d, WEIGHTS[s]!));
      twin = applyServerStep(strategy, twin.global, mean.mean(totalWeight), twin.state);
      expect(digests).toEqual([paramsSha256(twin.global), paramsSha256(twin.global)]);
    }
    // The step decayed as documented: eta * gamma^3 after three rounds, a running product in float32.
    expect(twin.state?.scalars.step).toBe(Math.fround(Math.fround(Math.fround(Math.fround(0.8) * 0.5) * 0.5) * 0.5));
    expect(restored(sites.a.state)).toEqual(twin.state);
  });
});
