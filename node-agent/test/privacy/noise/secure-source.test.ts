import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import {
  bernoulliExpMinus,
  cryptoByteSource,
  defaultByteSource,
  discreteGaussian,
  discreteLaplace,
  gaussian,
  rational,
  uniform53,
  uniformBelow,
  type ByteSource,
} from '../../../src/privacy/noise/index.js';
import { seededByteSource } from '../support/seeded-source.js';

const srcRoot = join(import.meta.dirname, '../../../src');

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => join(e.parentPath, e.name));
}

/** Counts the bytes a source hands out, to prove the samplers draw from the source they are given. */
function counting(source: ByteSource): { source: ByteSource; bytes: () => number } {
  let n = 0;
  return {
    source: (length) => {
      n += length;
      return source(length);
    },
    bytes: () => n,
  };
}

describe('secure randomness', () => {
  it('a fixed byte source gives fixed output, for every sampler', () => {
    const run = () => ({
      laplace: discreteLaplace(50, rational(7, 2), seededByteSource('fixed')),
      gauss: discreteGaussian(50, rational(9), seededByteSource('fixed')),
      continuous: Array.from(gaussian(50, 1, seededByteSource('fixed'))),
    });
    const a = run();
    const b = run();
    expect(b).toEqual(a);
    // and a different seed gives different output
    expect(discreteLaplace(50, rational(7, 2), seededByteSource('other'))).not.toEqual(a.laplace);
  });

  it('the samplers take every random byte from the source they are given', () => {
    const c = counting(seededByteSource('count'));
    discreteGaussian(10, rational(4), c.source);
    gaussian(10, 1, c.source);
    expect(c.bytes()).toBeGreaterThan(0);
    // A source that hands out only zero bytes makes the result fully determined: nothing else is consulted.
    const zeros: ByteSource = (n) => new Uint8Array(n);
    expect(Array.from(gaussian(4, 1, zeros))).toEqual(Array.from(gaussian(4, 1, zeros)));
  });

  it('by default the samplers use the OS CSPRNG: two fresh default streams never coincide', () => {
    const a = cryptoByteSource()(64);
    const b = cryptoByteSource()(64);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(defaultByteSource()).toBe(defaultByteSource());
    expect(discreteLaplace(32, rational(1000))).not.toEqual(discreteLaplace(32, rational(1000)));
  });

  it('no privacy or masking module calls Math.random', async () => {
    const files = [...(await sourceFiles(join(srcRoot, 'privacy'))), ...(await sourceFiles(join(srcRoot, 'masking')))];
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      expect({ file, usesMathRandom: /Math\.random/.test(await readFile(file, 'utf8')) }).toEqual({ file, usesMathRandom: false });
    }
    const defaults = await readFile(join(srcRoot, 'privacy/noise/byte-source.ts'), 'utf8');
    expect(defaults).toMatch(/import \{ randomBytes \} from 'node:crypto'/);
  });

  it('uniform draws have no modulo bias and stay in range', () => {
    const source = seededByteSource('uniform');
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) counts[Number(uniformBelow(3n, source))]! += 1;
    for (const c of counts) expect(Math.abs(c / 30_000 - 1 / 3)).toBeLessThan(0.015);
    const big = 2n ** 70n + 12345n;
    for (let i = 0; i < 200; i++) {
      const x = uniformBelow(big, source);
      expect(x >= 0n && x < big).toBe(true);
    }
    for (let i = 0; i < 1000; i++) {
      const u = uniform53(source);
      expect(u >= 0 && u < 1).toBe(true);
    }
  });

  it('Bernoulli(exp(-gamma)) is exact in expectation for rational gamma', () => {
    const source = seededByteSource('bernoulli');
    for (const [num, den] of [[1n, 2n], [3n, 2n], [5n, 1n]] as const) {
      let hits = 0;
      const n = 40_000;
      for (let i = 0; i < n; i++) if (bernoulliExpMinus({ num, den }, source)) hits++;
      const p = Math.exp(-Number(num) / Number(den));
      expect(Math.abs(hits / n - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
    }
  });
});
