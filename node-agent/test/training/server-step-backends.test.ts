import { describe, it, expect } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import { applyServerStep, paramsSha256, resolveStrategy, type ServerState } from '@medfed/proto';
import { initTrainingBackend } from '../../src/training/backend.js';

/** Deterministic deltas from a seed, in plain JS (xorshift32), so both backends get the same input. */
function deltas(length: number, seed: number): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  return Float32Array.from({ length }, () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return Math.fround((s / 4294967296 - 0.5) / 10);
  });
}

/** The per-round digests of 6 rounds of a strategy's server step, run while `backend` is TF.js's active backend. */
async function digestsUnder(backend: string, strategy: string): Promise<string[]> {
  expect(await tf.setBackend(backend)).toBe(true);
  expect(tf.getBackend()).toBe(backend);
  const resolved = resolveStrategy({ name: strategy }, { encrypted: true });
  let global = deltas(4099, 7);
  let state: ServerState | null = null;
  const out: string[] = [];
  for (let round = 1; round <= 6; round++) {
    const r = applyServerStep(resolved, global, deltas(4099, 100 + round), state);
    global = r.global;
    state = r.state;
    out.push(paramsSha256(global));
  }
  return out;
}

describe('the server step does not depend on the TF.js backend', () => {
  it.each(['fedavgm', 'fedadam', 'fedyogi', 'fedadagrad'])('%s: bit-identical digests under the cpu and wasm backends', async (strategy) => {
    await initTrainingBackend();
    const wasm = await digestsUnder('wasm', strategy);
    const cpu = await digestsUnder('cpu', strategy);
    expect(cpu).toEqual(wasm);
    expect(new Set(cpu).size).toBe(6);
  }, 60_000);
});
