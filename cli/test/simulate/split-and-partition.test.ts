import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { partition } from '../../src/simulate/partition.js';
import { parsePartitionScheme } from '../../src/simulate/partition-scheme.js';
import { stratifiedSplit } from '../../src/simulate/stratified-split.js';
import { SimulateError } from '../../src/simulate/errors.js';

function labelsOf(counts: Record<string, number>): string[] {
  return Object.entries(counts).flatMap(([label, count]) => new Array<string>(count).fill(label));
}

function expectCover(sites: number[][], n: number): void {
  const all = sites.flat().sort((a, b) => a - b);
  expect(all).toEqual(Array.from({ length: n }, (_, i) => i));
}

const share = (rows: number[], labels: string[], label: string): number => rows.filter((r) => labels[r] === label).length / rows.length;

describe('stratifiedSplit', () => {
  it('keeps each class\'s share, covers every row once, and is deterministic', () => {
    const labels = labelsOf({ low: 500, medium: 300, high: 200 });
    const split = stratifiedSplit(labels, 0.2, 1);
    expect(split.test).toHaveLength(200);
    expectCover([split.train, split.test], labels.length);
    expect(split.test.filter((r) => labels[r] === 'high')).toHaveLength(40);
    expect(stratifiedSplit(labels, 0.2, 1)).toEqual(split);
    expect(stratifiedSplit(labels, 0.2, 2).test).not.toEqual(split.test);
  });

  it('refuses a fraction outside (0, 1)', () => {
    expect(() => stratifiedSplit(['a'], 1, 1)).toThrow(expect.objectContaining({ code: 'SIMULATE_ARGUMENT_INVALID' }));
  });
});

describe('parsePartitionScheme', () => {
  it('parses the three forms', () => {
    expect(parsePartitionScheme('iid')).toEqual({ kind: 'iid' });
    expect(parsePartitionScheme('dirichlet:0.5')).toEqual({ kind: 'dirichlet', alpha: 0.5 });
    expect(parsePartitionScheme('by-column:hospital')).toEqual({ kind: 'by-column', column: 'hospital' });
  });

  it.each(['', 'random', 'dirichlet', 'dirichlet:', 'dirichlet:-1', 'dirichlet:abc', 'dirichlet:0', 'by-column:', 'iid:3'])(
    'names the bad spec %p and lists the accepted forms',
    (spec) => {
      let error: unknown;
      try {
        parsePartitionScheme(spec);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SimulateError);
      expect((error as SimulateError).code).toBe('SIMULATE_PARTITION_SPEC_INVALID');
      expect((error as SimulateError).message).toContain(JSON.stringify(spec));
      expect((error as SimulateError).message).toContain('Accepted forms: iid');
      expect((error as SimulateError).message).toContain('dirichlet:ALPHA');
      expect((error as SimulateError).message).toContain('by-column:COLUMN');
    },
  );
});

describe('partition', () => {
  const labels = labelsOf({ low: 600, medium: 300, high: 100 });

  it('iid: equal sizes (within one) and the same label mix at every site', () => {
    const sites = partition({ labels }, 4, 'iid', 1);
    expectCover(sites, labels.length);
    for (const rows of sites) {
      expect(rows.length).toBe(250);
      expect(share(rows, labels, 'high')).toBeCloseTo(0.1, 2);
    }
  });

  it('dirichlet:0.5 skews the label mix across sites', () => {
    const sites = partition({ labels }, 4, 'dirichlet:0.5', 2);
    expectCover(sites, labels.length);
    const lowShares = sites.map((rows) => share(rows, labels, 'low'));
    expect(Math.max(...lowShares) - Math.min(...lowShares)).toBeGreaterThan(0.2);
    expect(partition({ labels }, 4, 'dirichlet:0.5', 2)).toEqual(sites);
  });

  it('dirichlet guarantees the minimum rows per site, whatever the draw', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 6 }), fc.double({ min: 0.01, max: 5, noNaN: true }), fc.integer(), fc.integer({ min: 1, max: 40 }), (k, alpha, seed, minRows) => {
        const sites = partition({ labels }, k, { kind: 'dirichlet', alpha }, seed, { minRowsPerSite: minRows });
        expectCover(sites, labels.length);
        return sites.every((rows) => rows.length >= minRows);
      }),
      { numRuns: 60 },
    );
  });

  it('by-column: one group of rows per value, each value at exactly one site', () => {
    const hospital = labels.map((_, i) => ['north', 'south', 'east', 'west', 'central'][i % 5]!);
    const sites = partition({ labels, columns: { hospital } }, 3, 'by-column:hospital', 1);
    expectCover(sites, labels.length);
    const owners = new Map<string, number>();
    sites.forEach((rows, site) => {
      for (const row of rows) {
        const owner = owners.get(hospital[row]!);
        if (owner !== undefined) expect(owner).toBe(site);
        owners.set(hospital[row]!, site);
      }
    });
    expect(owners.size).toBe(5);
  });

  it('refuses infeasible requests and missing by-column values with codes', () => {
    expect(() => partition({ labels: ['a', 'b'] }, 3, 'iid', 1)).toThrow(expect.objectContaining({ code: 'SIMULATE_PARTITION_INFEASIBLE' }));
    expect(() => partition({ labels }, 2, 'iid', 1, { minRowsPerSite: 600 })).toThrow(expect.objectContaining({ code: 'SIMULATE_PARTITION_INFEASIBLE' }));
    expect(() => partition({ labels }, 2, 'by-column:hospital', 1)).toThrow(expect.objectContaining({ code: 'SIMULATE_ARGUMENT_INVALID' }));
    const two = labels.map((_, i) => (i % 2 === 0 ? 'x' : 'y'));
    expect(() => partition({ labels, columns: { site: two } }, 3, 'by-column:site', 1)).toThrow(expect.objectContaining({ code: 'SIMULATE_PARTITION_INFEASIBLE' }));
    expect(() => partition({ labels }, 0, 'iid', 1)).toThrow(expect.objectContaining({ code: 'SIMULATE_ARGUMENT_INVALID' }));
    expect(() => partition({ labels }, 2, 'bogus', 1)).toThrow(expect.objectContaining({ code: 'SIMULATE_PARTITION_SPEC_INVALID' }));
  });
});
