import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { seededRandom, shuffleInPlace } from '../../src/training/prng.js';

describe('seededRandom', () => {
  it('replays the same sequence for a seed and differs across seeds', () => {
    const take = (seed: number): number[] => {
      const random = seededRandom(seed);
      return Array.from({ length: 8 }, () => random.nextUint32());
    };
    expect(take(1)).toEqual(take(1));
    expect(take(1)).not.toEqual(take(2));
    expect(take(1)).not.toEqual(take(1 + 2 ** 32)); // high bits of the seed count
  });

  it('stays in range', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 1000 }), (seed, bound) => {
        const random = seededRandom(seed);
        for (let i = 0; i < 20; i++) {
          const u = random.next();
          const k = random.nextInt(bound);
          if (!(u >= 0 && u < 1) || !(Number.isInteger(k) && k >= 0 && k < bound)) return false;
        }
        return true;
      }),
    );
  });

  it('is roughly uniform', () => {
    const random = seededRandom(99);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 50_000; i++) counts[random.nextInt(10)]! += 1;
    for (const count of counts) expect(Math.abs(count - 5000)).toBeLessThan(300);
  });

  it('shuffles into a permutation, reproducibly', () => {
    const a = Int32Array.from({ length: 50 }, (_, i) => i);
    const b = Int32Array.from({ length: 50 }, (_, i) => i);
    shuffleInPlace(a, seededRandom(3));
    shuffleInPlace(b, seededRandom(3));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(Array.from(a)).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('refuses a seed that is not a safe integer', () => {
    expect(() => seededRandom(1.5)).toThrow(expect.objectContaining({ code: 'TRAINING_SETTINGS_INVALID' }));
  });
});
