import { TrainingError } from './errors.js';

/**
 * A small, fast, seeded generator (sfc32, seeded through splitmix32) for everything that must be
 * reproducible from a job seed: initial weights, shuffles, simulated data. It is NOT a source of
 * secrets: DP noise comes from an injected cryptographic sampler.
 */
export interface SeededRandom {
  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number;
  /** Uniform in [0, 1), 53 bits of resolution. */
  next(): number;
  /** Uniform integer in [0, bound), unbiased; bound in 1..2^32. */
  nextInt(bound: number): number;
}

const TWO_32 = 4294967296;

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export function seededRandom(seed: number): SeededRandom {
  if (!Number.isSafeInteger(seed)) {
    throw new TrainingError('TRAINING_SETTINGS_INVALID', `seed must be a safe integer, got ${String(seed)}.`);
  }
  // Fold both 32-bit halves of the seed in, so seeds that differ only above bit 32 still differ.
  const low = seed >>> 0;
  const high = Math.floor(seed / TWO_32) >>> 0;
  const mixer = { s: low ^ Math.imul(high, 0x27d4eb2d) };
  let a = splitmix32(mixer);
  let b = splitmix32(mixer) ^ high;
  let c = splitmix32(mixer);
  let d = splitmix32(mixer) | 1;

  const nextUint32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) nextUint32();

  return {
    nextUint32,
    next: () => ((nextUint32() >>> 5) * 67108864 + (nextUint32() >>> 6)) / 9007199254740992,
    nextInt: (bound: number) => {
      if (!Number.isInteger(bound) || bound < 1 || bound > TWO_32) {
        throw new RangeError(`bound must be an integer in 1..2^32, got ${bound}`);
      }
      const limit = TWO_32 - (TWO_32 % bound);
      for (;;) {
        const r = nextUint32();
        if (r < limit) return r % bound;
      }
    },
  };
}

/** Fisher-Yates shuffle driven by `random`, in place. */
export function shuffleInPlace<E>(items: { length: number; [index: number]: E }, random: SeededRandom): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.nextInt(i + 1);
    const tmp = items[i] as E;
    items[i] = items[j] as E;
    items[j] = tmp;
  }
}
