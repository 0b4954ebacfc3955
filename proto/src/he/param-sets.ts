import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { HeError } from './errors.js';

/**
 * BFV parameter sets for additive aggregation, as data. A set fixes the ring, the moduli (exact
 * values, so every party builds the same SEAL context and the digest binds them), and the lane
 * layout that packs fixed-point integers into the batching slots.
 *
 * Slot layout: each of the N batching slots holds an integer mod t that carries `lanes` signed
 * lanes of `laneBits` bits (X = v0 + v1·2^laneBits + ...). The last `reservedSlots` slots of every
 * ciphertext are check slots (contributor weight, contributor count), so a chunk carries
 * (N - reservedSlots)·lanes values.
 */
export interface HeParamSet {
  readonly id: string;
  readonly scheme: 'bfv';
  readonly polyModulusDegree: number;
  /** The coefficient modulus primes, decimal. One prime: additions need no key switching. */
  readonly coeffModulus: readonly string[];
  readonly coeffModulusBits: readonly number[];
  /** Batching prime t ≡ 1 (mod 2N), decimal. */
  readonly plainModulus: string;
  readonly plainModulusBits: number;
  readonly lanes: number;
  readonly laneBits: number;
  readonly reservedSlots: number;
  /** Ciphertexts that may be summed before decryption can fail (see noise bound below). */
  readonly maxSummands: number;
  readonly securityLevel: 128;
  /** What the set is for; not part of the digest. */
  readonly purpose: string;
}

export const HE_PARAM_SETS = {
  'bfv-n4096-q60-t48-2x23': {
    id: 'bfv-n4096-q60-t48-2x23',
    scheme: 'bfv',
    polyModulusDegree: 4096,
    coeffModulus: ['1152921504606830593'],
    coeffModulusBits: [60],
    plainModulus: '281474976694273',
    plainModulusBits: 48,
    lanes: 2,
    laneBits: 23,
    reservedSlots: 2,
    maxSummands: 64,
    securityLevel: 128,
    purpose: 'model updates (default): 2 lanes per slot, ~3.75 upload bytes per parameter',
  },
  'bfv-n4096-q60-t40-1x39': {
    id: 'bfv-n4096-q60-t40-1x39',
    scheme: 'bfv',
    polyModulusDegree: 4096,
    coeffModulus: ['1152921504606830593'],
    coeffModulusBits: [60],
    plainModulus: '1099511480321',
    plainModulusBits: 40,
    lanes: 1,
    laneBits: 39,
    reservedSlots: 2,
    maxSummands: 1024,
    securityLevel: 128,
    purpose: 'high-precision updates and large exact sums: 1 lane per slot, ~7.5 bytes per value',
  },
  'bfv-n2048-q54-t32-1x31': {
    id: 'bfv-n2048-q54-t32-1x31',
    scheme: 'bfv',
    polyModulusDegree: 2048,
    coeffModulus: ['18014398509404161'],
    coeffModulusBits: [54],
    plainModulus: '4294955009',
    plainModulusBits: 32,
    lanes: 1,
    laneBits: 31,
    reservedSlots: 2,
    maxSummands: 1024,
    securityLevel: 128,
    purpose: 'small statistics vectors (counts, sums, histograms): half-size ciphertexts',
  },
} as const satisfies Record<string, HeParamSet>;

export type HeParamSetId = keyof typeof HE_PARAM_SETS;

export const DEFAULT_UPDATE_PARAM_SET: HeParamSetId = 'bfv-n4096-q60-t48-2x23';
export const DEFAULT_STATISTICS_PARAM_SET: HeParamSetId = 'bfv-n2048-q54-t32-1x31';

/** SEAL's 128-bit table: largest total coefficient modulus (bits) per ring degree. */
export const MAX_COEFF_MODULUS_BITS_128: Readonly<Record<number, number>> = { 1024: 27, 2048: 54, 4096: 109, 8192: 218, 16384: 438, 32768: 881 };

/**
 * Largest |noise| one fresh secret-key BFV encryption adds, in units of q/t: SEAL's error sampler is
 * a centred binomial over 21 coin pairs (|e| ≤ 21; the clipped Gaussian alternative is ≤ 19.2), and
 * its exact scaling round(q·m/t) adds at most 1/2. Decryption of a sum of k ciphertexts is exact
 * while k·21.5 < q/(2t), a hard bound, not a probabilistic one.
 */
export const FRESH_NOISE_BOUND = 21.5;

const WIRE_FORMAT = 'medfed-he/1';

export function getParamSet(id: string): HeParamSet {
  if (!Object.hasOwn(HE_PARAM_SETS, id)) {
    throw new HeError('HE_UNKNOWN_PARAM_SET', `HE parameter set "${id}" is not defined; use one of ${Object.keys(HE_PARAM_SETS).join(', ')}`);
  }
  return HE_PARAM_SETS[id as HeParamSetId];
}

/** The canonical description the digest is taken over: every field that changes the bytes or their meaning. */
export function canonicalParamSetDescription(set: HeParamSet): string {
  const { purpose: _purpose, ...bound } = set;
  const text = canonicalize({
    ...bound,
    encryption: 'seeded-secret-key',
    freshNoiseBound: FRESH_NOISE_BOUND,
    wireFormat: WIRE_FORMAT,
  });
  if (text === undefined) throw new Error('parameter set has no JSON form');
  return text;
}

const digestCache = new Map<string, string>();

/** SHA-256 (hex) over the canonical description; chunks and key custody artefacts bind it. */
export function paramSetDigest(id: string): string {
  let digest = digestCache.get(id);
  if (digest === undefined) {
    digest = createHash('sha256').update(canonicalParamSetDescription(getParamSet(id))).digest('hex');
    digestCache.set(id, digest);
  }
  return digest;
}

/**
 * The table's internal consistency, checked without SEAL. heContext additionally asks SEAL to
 * confirm primality, batching and the 128-bit level. Returns the problems found (empty when sound).
 */
export function paramSetProblems(set: HeParamSet): string[] {
  const problems: string[] = [];
  const n = set.polyModulusDegree;
  const q = set.coeffModulus.map((p) => BigInt(p));
  const t = BigInt(set.plainModulus);
  if (q.length !== 1 || set.coeffModulusBits.length !== 1) problems.push('exactly one coefficient prime is supported (additions need no key switching)');
  q.forEach((p, i) => {
    if (p.toString(2).length !== set.coeffModulusBits[i]) problems.push(`coeffModulus[${i}] does not have ${set.coeffModulusBits[i]} bits`);
    if (p % BigInt(2 * n) !== 1n) problems.push(`coeffModulus[${i}] is not 1 mod 2N`);
  });
  const qBits = set.coeffModulusBits.reduce((a, b) => a + b, 0);
  const limit = MAX_COEFF_MODULUS_BITS_128[n];
  if (limit === undefined || qBits > limit) problems.push(`total coefficient modulus ${qBits} bits exceeds the 128-bit limit for N=${n}`);
  if (qBits <= 45 || qBits > 60) problems.push('the wire packing needs a 46..60-bit coefficient prime');
  if (t.toString(2).length !== set.plainModulusBits) problems.push(`plainModulus does not have ${set.plainModulusBits} bits`);
  if (t % BigInt(2 * n) !== 1n) problems.push('plainModulus is not 1 mod 2N (no batching)');
  if (set.plainModulusBits > 52) problems.push('plainModulus must stay below 2^52 so slots decode exactly as doubles');
  if (set.lanes * set.laneBits > set.plainModulusBits - 1) problems.push('lanes·laneBits must be at most plainModulusBits-1 so the signed lane sum cannot wrap mod t');
  if (set.reservedSlots !== 2) problems.push('reservedSlots must be 2 (weight and count check slots)');
  if (q.length === 1) {
    const budget = Number(q[0]!) / (2 * Number(t));
    if (set.maxSummands * FRESH_NOISE_BOUND >= budget) problems.push(`maxSummands ${set.maxSummands} exceeds the noise bound (q/(2t)/${FRESH_NOISE_BOUND} = ${Math.floor(budget / FRESH_NOISE_BOUND)})`);
  }
  return problems;
}
