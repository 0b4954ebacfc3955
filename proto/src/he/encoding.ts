import { HeError } from './errors.js';
import type { HeParamSet } from './param-sets.js';

/**
 * How real or integer values become lane integers, and the bounds that keep a sum of up to
 * `maxSites` contributions from wrapping.
 *
 * Fixed point: a site with clipped update u (every |u_j| ≤ clip) and weight w ∈ [0,1] contributes
 * k_j = round(w·u_j·2^fracBits); |k_j| ≤ ceil(clip·2^fracBits) =: B. The lane holds signed sums up
 * to 2^(laneBits-1)-1 in magnitude, so maxSites·B must stay within that: the sum of any
 * maxSites honest contributions is then recovered exactly as an integer, and the only error left is
 * rounding, at most maxSites·2^-(fracBits+1) per coordinate of the weighted sum.
 *
 * Exact: integers with |v| ≤ maxAbs; maxSites·maxAbs must fit a lane the same way.
 */
export interface FixedPointEncoding {
  readonly kind: 'fixed-point';
  /** Bound on every |u_j| (the privacy chain's clipping norm per coordinate). */
  readonly clip: number;
  readonly fracBits: number;
  readonly maxSites: number;
}

export interface ExactEncoding {
  readonly kind: 'exact';
  readonly maxAbs: number;
  readonly maxSites: number;
}

export type HeEncoding = FixedPointEncoding | ExactEncoding;

/** Largest |lane sum| a lane of the set carries. */
export function laneLimit(set: HeParamSet): number {
  return 2 ** (set.laneBits - 1) - 1;
}

/** Values one ciphertext carries: every lane of every non-reserved slot. */
export function valuesPerChunk(set: HeParamSet): number {
  return (set.polyModulusDegree - set.reservedSlots) * set.lanes;
}

export function chunkCountFor(set: HeParamSet, valueCount: number): number {
  return Math.max(1, Math.ceil(valueCount / valuesPerChunk(set)));
}

function invalid(message: string): never {
  throw new HeError('HE_QUANTISATION_INVALID', message);
}

/** Refuses an encoding whose bounds this parameter set cannot carry without overflow. */
export function checkEncoding(set: HeParamSet, encoding: HeEncoding): void {
  const { maxSites } = encoding;
  if (!Number.isInteger(maxSites) || maxSites < 1 || maxSites > set.maxSummands) {
    invalid(`maxSites must be an integer in 1..${set.maxSummands} for parameter set ${set.id} (noise bound); got ${maxSites}`);
  }
  const limit = laneLimit(set);
  if (encoding.kind === 'fixed-point') {
    const { clip, fracBits } = encoding;
    if (!Number.isFinite(clip) || clip <= 0) invalid(`clip must be a positive finite number; got ${clip}`);
    if (!Number.isInteger(fracBits) || fracBits < 0 || fracBits > 52) invalid(`fracBits must be an integer in 0..52; got ${fracBits}`);
    const bound = Math.ceil(clip * 2 ** fracBits);
    if (maxSites * bound > limit) {
      const best = Math.floor(Math.log2(limit / (maxSites * clip)));
      invalid(`maxSites·ceil(clip·2^fracBits) = ${maxSites}·${bound} exceeds the lane capacity ${limit} of ${set.id}; ` +
        `use fracBits ≤ ${best} for clip ${clip} and ${maxSites} sites, or a parameter set with wider lanes`);
    }
    // The weight check slot is a whole slot (centred mod t): it carries Σ round(w·2^fracBits) ≤ maxSites·2^fracBits.
    const slotLimit = (Number(set.plainModulus) - 1) / 2;
    if (maxSites * 2 ** fracBits > slotLimit) invalid(`maxSites·2^fracBits = ${maxSites * 2 ** fracBits} exceeds ${slotLimit}: the weight check slot would overflow; lower fracBits`);
    return;
  }
  if (encoding.kind === 'exact') {
    const { maxAbs } = encoding;
    if (!Number.isSafeInteger(maxAbs) || maxAbs < 0) invalid(`maxAbs must be a non-negative safe integer; got ${maxAbs}`);
    if (maxSites * maxAbs > limit) {
      invalid(`maxSites·maxAbs = ${maxSites * maxAbs} exceeds the lane capacity ${limit} of ${set.id}; use a set with wider lanes (bfv-n4096-q60-t40-1x39) or smaller values`);
    }
    return;
  }
  invalid(`encoding kind must be "fixed-point" or "exact"; got ${String((encoding as { kind?: unknown }).kind)}`);
}

export function checkWeight(weight: number): void {
  if (!Number.isFinite(weight) || weight < 0 || weight > 1) {
    invalid(`weight must be a number in [0, 1] (the site's sample-count share); got ${weight}`);
  }
}

/** Refuses (does not clip) any value the encoding cannot carry; the privacy chain clips earlier. */
export function checkValues(values: ArrayLike<number>, encoding: HeEncoding): void {
  if (encoding.kind === 'fixed-point') {
    const clip = encoding.clip;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      // The negated comparison also catches NaN.
      if (!(v >= -clip && v <= clip)) {
        throw new HeError('HE_VALUE_OUT_OF_RANGE', `value ${i} is ${v}, outside [-${clip}, ${clip}]; updates must be clipped before encryption`);
      }
    }
    return;
  }
  const maxAbs = encoding.maxAbs;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isSafeInteger(v) || v < -maxAbs || v > maxAbs) {
      throw new HeError('HE_VALUE_OUT_OF_RANGE', `value ${i} is ${v}; exact values must be integers within ±${maxAbs}`);
    }
  }
}

const TWO32 = 4294967296;
const TWO_NEG32 = 2 ** -32;

/**
 * Writes chunk `chunk` of `values` into N batching slots, as little-endian 64-bit words in
 * `slotWords`. Position p of the chunk goes to lane floor(p / S), slot p mod S (S = N - reserved),
 * so each lane is a contiguous run of the input. `quantum` multiplies each value before rounding
 * (w·2^fracBits for fixed point, 1 for exact). The reserved slots get `weightSlot` and 1.
 */
export function fillSlots(
  set: HeParamSet, t: number, values: ArrayLike<number>, chunk: number, quantum: number, weightSlot: number, slotWords: Uint32Array,
): void {
  const slots = set.polyModulusDegree - set.reservedSlots;
  const lanes = set.lanes;
  const n = values.length;
  const base = chunk * slots * lanes;
  // Slots whose every lane has a value take the fast loops; the tail of the last chunk the general one.
  const full = Math.max(0, Math.min(slots, n - base - (lanes - 1) * slots));
  if (lanes === 2) {
    const laneScale = 2 ** set.laneBits;
    const second = base + slots;
    for (let slot = 0; slot < full; slot++) {
      const x = Math.round(values[base + slot]! * quantum) + Math.round(values[second + slot]! * quantum) * laneScale;
      const m = x < 0 ? x + t : x;
      const lo = m >>> 0;
      slotWords[2 * slot] = lo;
      slotWords[2 * slot + 1] = (m - lo) * TWO_NEG32;
    }
  } else if (lanes === 1) {
    for (let slot = 0; slot < full; slot++) {
      const x = Math.round(values[base + slot]! * quantum);
      const m = x < 0 ? x + t : x;
      const lo = m >>> 0;
      slotWords[2 * slot] = lo;
      slotWords[2 * slot + 1] = (m - lo) * TWO_NEG32;
    }
  }
  const laneScale = 2 ** set.laneBits;
  for (let slot = lanes <= 2 ? full : 0; slot < slots; slot++) {
    let x = 0;
    let scale = 1;
    for (let lane = 0; lane < lanes; lane++) {
      const i = base + lane * slots + slot;
      if (i < n) x += Math.round(values[i]! * quantum) * scale;
      scale *= laneScale;
    }
    writeSlot(slotWords, slot, x, t);
  }
  writeSlot(slotWords, slots, weightSlot, t);
  writeSlot(slotWords, slots + 1, 1, t);
}

function writeSlot(words: Uint32Array, slot: number, x: number, t: number): void {
  const m = x < 0 ? x + t : x;
  const lo = m >>> 0;
  words[2 * slot] = lo;
  words[2 * slot + 1] = (m - lo) * TWO_NEG32;
}

function readSlot(words: Uint32Array, slot: number, t: number): number {
  const m = words[2 * slot + 1]! * TWO32 + words[2 * slot]!;
  return m > (t - 1) / 2 ? m - t : m;
}

/** The decrypted check slots: Σ quantised weights and the number of contributions. */
export function readCheckSlots(set: HeParamSet, t: number, slotWords: Uint32Array): { weight: number; count: number } {
  const slots = set.polyModulusDegree - set.reservedSlots;
  return { weight: readSlot(slotWords, slots, t), count: readSlot(slotWords, slots + 1, t) };
}

/**
 * Recovers the lane sums of chunk `chunk` (decrypted slots, centred mod t) and stores
 * laneSum·scale at their positions in `out`.
 */
export function readSlots(set: HeParamSet, t: number, slotWords: Uint32Array, chunk: number, scale: number, out: Float64Array): void {
  const slots = set.polyModulusDegree - set.reservedSlots;
  const lanes = set.lanes;
  const laneScale = 2 ** set.laneBits;
  const half = 2 ** (set.laneBits - 1);
  const n = out.length;
  const base = chunk * slots * lanes;
  for (let slot = 0; slot < slots; slot++) {
    let x = readSlot(slotWords, slot, t);
    for (let lane = 0; lane < lanes; lane++) {
      const i = base + lane * slots + slot;
      // Lower lanes: the centred residue mod 2^laneBits; the top lane is what remains. All exact in doubles (|x| < 2^52).
      const v = lane === lanes - 1 ? x : x - laneScale * Math.floor((x + half) / laneScale);
      if (i < n) out[i] = v * scale;
      x = (x - v) / laneScale;
    }
  }
}
