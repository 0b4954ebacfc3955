import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { MemoryTreeStore, MerkleLog, TlogError, hashLeaf, verifyConsistency, verifyInclusion } from '../../src/tlog/index.js';
import { Reference, refLeafHash } from './reference.js';

/**
 * Every valid proof verifies, and every mutation of one fails, in the style of
 * transparency-dev/merkle's proof tests: index +-1, size x2 and /2, wrong roots, extra or missing
 * hashes, flipped bits. Exhaustive up to 64 leaves, sampled on larger trees.
 *
 * Size +-1 is not a mutation a proof alone can reveal (leaf 0 of 3 and of 4 has the same path
 * shape); the tree size is bound by the signed checkpoint instead, which the bundle tests cover.
 */

const leafData = (i: number) => Buffer.from(`leaf ${i}`);

async function buildLog(size: number): Promise<{ log: MerkleLog; leafHashes: Uint8Array[] }> {
  const log = new MerkleLog(new MemoryTreeStore());
  const batch = Array.from({ length: size }, (_, i) => leafData(i));
  for (let i = 0; i < batch.length; i += 4096) await log.append(batch.slice(i, i + 4096));
  return { log, leafHashes: batch.map(hashLeaf) };
}

const flip = (h: Uint8Array, bit: number) => {
  const c = Buffer.from(h);
  c[bit >> 3]! ^= 1 << (bit & 7);
  return c;
};

interface Incl { index: number; size: number; leaf: Uint8Array; proof: Uint8Array[]; root: Uint8Array }
interface Cons { size1: number; size2: number; proof: Uint8Array[]; root1: Uint8Array; root2: Uint8Array }

function inclusionMutations(p: Incl): Array<[string, Incl]> {
  const out: Array<[string, Incl]> = [
    ['index + 1', { ...p, index: p.index + 1 }],
    ['size * 2', { ...p, size: p.size * 2 }],
    ['wrong root', { ...p, root: flip(p.root, 0) }],
    ['wrong leaf', { ...p, leaf: flip(p.leaf, 255) }],
    ['extra hash at the end', { ...p, proof: [...p.proof, p.root] }],
    ['extra hash at the start', { ...p, proof: [p.leaf, ...p.proof] }],
    ['root as the only proof', { ...p, proof: [p.root] }],
  ];
  if (p.index > 0) out.push(['index - 1', { ...p, index: p.index - 1 }]);
  if (Math.floor(p.size / 2) !== p.size && p.size > 1) out.push(['size / 2', { ...p, size: Math.floor(p.size / 2) }]);
  p.proof.forEach((_, i) => {
    out.push([`hash ${i} removed`, { ...p, proof: p.proof.filter((__, j) => j !== i) }]);
    out.push([`hash ${i} bit 0 flipped`, { ...p, proof: p.proof.map((h, j) => (j === i ? flip(h, 0) : h)) }]);
    out.push([`hash ${i} bit 255 flipped`, { ...p, proof: p.proof.map((h, j) => (j === i ? flip(h, 255) : h)) }]);
  });
  if (p.proof.length > 1) out.push(['hashes swapped', { ...p, proof: [p.proof[1]!, p.proof[0]!, ...p.proof.slice(2)] }]);
  return out;
}

function consistencyMutations(p: Cons): Array<[string, Cons]> {
  const out: Array<[string, Cons]> = [
    ['size2 * 2', { ...p, size2: p.size2 * 2 }],
    ['wrong root1', { ...p, root1: flip(p.root1, 3) }],
    ['wrong root2', { ...p, root2: flip(p.root2, 3) }],
    ['extra hash at the end', { ...p, proof: [...p.proof, p.root2] }],
    ['extra hash at the start', { ...p, proof: [p.root1, ...p.proof] }],
  ];
  if (p.size1 !== p.size2) {
    out.push(['roots swapped', { ...p, root1: p.root2, root2: p.root1 }]);
    out.push(['size1 + 1', { ...p, size1: p.size1 + 1 }]);
    out.push(['sizes swapped', { ...p, size1: p.size2, size2: p.size1 }]);
  }
  if (p.size1 > 1) out.push(['size1 - 1', { ...p, size1: p.size1 - 1 }]);
  if (p.size1 > 1) out.push(['size1 / 2', { ...p, size1: Math.floor(p.size1 / 2) }]);
  p.proof.forEach((_, i) => {
    out.push([`hash ${i} removed`, { ...p, proof: p.proof.filter((__, j) => j !== i) }]);
    out.push([`hash ${i} bit 7 flipped`, { ...p, proof: p.proof.map((h, j) => (j === i ? flip(h, 7) : h)) }]);
    out.push([`hash ${i} bit 200 flipped`, { ...p, proof: p.proof.map((h, j) => (j === i ? flip(h, 200) : h)) }]);
  });
  return out;
}

const verifiesIncl = (p: Incl) => verifyInclusion(p.index, p.size, p.leaf, p.proof, p.root);
const verifiesCons = (p: Cons) => verifyConsistency(p.size1, p.size2, p.proof, p.root1, p.root2);

/** Runs every mutation; returns the names of those that were (wrongly) accepted. */
function accepted<T>(mutations: Array<[string, T]>, run: (m: T) => void, context: string): string[] {
  const out: string[] = [];
  for (const [name, m] of mutations) {
    try {
      run(m);
      out.push(`${context}: ${name}`);
    } catch (err) {
      if (!(err instanceof TlogError)) throw err;
    }
  }
  return out;
}

/** Verifies the generated proof (throws if it does not) and collects any mutation that was accepted. */
class Checker {
  readonly wronglyAccepted: string[] = [];
  mutationsRefused = 0;

  async inclusion(log: MerkleLog, leafHashes: readonly Uint8Array[], index: number, size: number): Promise<void> {
    const p: Incl = { index, size, leaf: leafHashes[index]!, proof: await log.inclusionProof(index, size), root: await log.rootAt(size) };
    verifiesIncl(p);
    const mutations = inclusionMutations(p);
    const bad = accepted(mutations, verifiesIncl, `inclusion of ${index} in ${size}`);
    this.wronglyAccepted.push(...bad);
    this.mutationsRefused += mutations.length - bad.length;
  }

  async consistency(log: MerkleLog, size1: number, size2: number): Promise<void> {
    const p: Cons = { size1, size2, proof: await log.consistencyProof(size1, size2), root1: await log.rootAt(size1), root2: await log.rootAt(size2) };
    verifiesCons(p);
    const mutations = consistencyMutations(p);
    const bad = accepted(mutations, verifiesCons, `consistency ${size1} -> ${size2}`);
    this.wronglyAccepted.push(...bad);
    this.mutationsRefused += mutations.length - bad.length;
  }
}

describe('Merkle proofs, exhaustively up to 64 leaves', () => {
  it('generates exactly the RFC 6962 PATH and PROOF and the MTH of every prefix', async () => {
    const { log, leafHashes } = await buildLog(64);
    expect(leafHashes.map((h, i) => Buffer.compare(h, refLeafHash(leafData(i))))).toEqual(leafHashes.map(() => 0));
    const ref = new Reference(leafHashes);
    const hex = (hs: readonly Uint8Array[]) => hs.map((h) => Buffer.from(h).toString('hex')).join(',');
    const differences: string[] = [];
    let compared = 0;
    for (let size = 1; size <= 64; size++) {
      if (hex([await log.rootAt(size)]) !== hex([ref.mth(0, size)])) differences.push(`root ${size}`);
      for (let index = 0; index < size; index++, compared++) {
        if (hex(await log.inclusionProof(index, size)) !== hex(ref.path(index, 0, size))) differences.push(`PATH(${index}, ${size})`);
      }
      for (let size1 = 1; size1 <= size; size1++, compared++) {
        if (hex(await log.consistencyProof(size1, size)) !== hex(ref.proof(size1, size))) differences.push(`PROOF(${size1}, ${size})`);
      }
    }
    expect(differences).toEqual([]);
    expect(compared).toBe(2 * 2080);
  });

  it('verifies every inclusion proof and refuses each of its mutations', async () => {
    const { log, leafHashes } = await buildLog(64);
    const check = new Checker();
    for (let size = 1; size <= 64; size++) for (let index = 0; index < size; index++) await check.inclusion(log, leafHashes, index, size);
    expect(check.wronglyAccepted).toEqual([]);
    expect(check.mutationsRefused).toBeGreaterThan(20_000);
  });

  it('verifies every consistency proof and refuses each of its mutations', async () => {
    const { log } = await buildLog(64);
    const check = new Checker();
    for (let size2 = 1; size2 <= 64; size2++) for (let size1 = 1; size1 <= size2; size1++) await check.consistency(log, size1, size2);
    expect(check.wronglyAccepted).toEqual([]);
    expect(check.mutationsRefused).toBeGreaterThan(20_000);
  });
});

describe('Merkle proofs on sampled larger trees', () => {
  it('holds for random indices and sizes up to 1,024', async () => {
    const { log, leafHashes } = await buildLog(1024);
    const check = new Checker();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1024 }).chain((size) => fc.tuple(fc.constant(size), fc.integer({ min: 0, max: size - 1 }), fc.integer({ min: 1, max: size }))),
        async ([size, index, size1]) => {
          await check.inclusion(log, leafHashes, index, size);
          await check.consistency(log, size1, size);
        }),
      { numRuns: 150 },
    );
    expect(check.wronglyAccepted).toEqual([]);
    expect(check.mutationsRefused).toBeGreaterThan(3_000);
  });

  it('holds beyond: a tree of 40,003 leaves, sampled, its proofs equal to the reference', async () => {
    const size = 40_003;
    const { log, leafHashes } = await buildLog(size);
    const ref = new Reference(leafHashes);
    expect(Buffer.from(await log.rootAt(size))).toEqual(Buffer.from(ref.mth(0, size)));
    const check = new Checker();
    const sizes = fc.integer({ min: 1, max: size });
    await fc.assert(
      fc.asyncProperty(sizes.chain((s) => fc.tuple(fc.constant(s), fc.integer({ min: 0, max: s - 1 }), fc.integer({ min: 1, max: s }))),
        async ([s, index, size1]) => {
          expect(Buffer.concat(await log.inclusionProof(index, s))).toEqual(Buffer.concat(ref.path(index, 0, s)));
          expect(Buffer.concat(await log.consistencyProof(size1, s))).toEqual(Buffer.concat(ref.proof(size1, s)));
          await check.inclusion(log, leafHashes, index, s);
          await check.consistency(log, size1, s);
        }),
      { numRuns: 60 },
    );
    // Edges: the first and last leaf of the full tree, and consistency across a power of two.
    await check.inclusion(log, leafHashes, 0, size);
    await check.inclusion(log, leafHashes, size - 1, size);
    await check.consistency(log, 32_768, size);
    await check.consistency(log, 32_769, size);
    expect(check.wronglyAccepted).toEqual([]);
  });

  it('treats sizes up to 2^53 - 1 without overflow when refusing out-of-range proofs', () => {
    const big = Number.MAX_SAFE_INTEGER;
    const leaf = hashLeaf(Buffer.from('x'));
    expect(() => verifyInclusion(big - 1, big, leaf, [], leaf)).toThrow(expect.objectContaining({ code: 'TLOG_INCLUSION_INVALID' }));
    expect(() => verifyInclusion(2 ** 53, 2 ** 53 + 2, leaf, [], leaf)).toThrow(expect.objectContaining({ code: 'TLOG_PROOF_MALFORMED' }));
    expect(() => verifyConsistency(big, big - 1, [], leaf, leaf)).toThrow(expect.objectContaining({ code: 'TLOG_ROLLBACK' }));
  });
});
