import { writeCsv } from '../../../src/masking/index.js';

/**
 * A realistic synthetic hospital extract: adult ages skewed towards the elderly (a few over 89),
 * sex close to even, five-digit ZIP codes from a catchment area of a few ZIP3 areas (one of them a
 * low-population prefix), and an ICD-10 diagnosis. Deterministic for a given seed.
 */
export interface CohortRow {
  mrn: string;
  age: string;
  sex: string;
  zip: string;
  diagnosis: string;
}

const ZIP3_WEIGHTS: readonly [string, number][] = [
  ['021', 0.34],
  ['024', 0.2],
  ['019', 0.16],
  ['018', 0.14],
  ['017', 0.1],
  ['020', 0.04],
  ['036', 0.02],
];

const DIAGNOSES = ['I10', 'E11.9', 'J44.9', 'I50.9', 'N18.3', 'J18.9', 'I48.91', 'F32.9', 'K21.9', 'M17.11', 'C50.911', 'E78.5'];

/** mulberry32: a small seeded generator, enough for fixtures. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rnd: () => number, weighted: readonly (readonly [T, number])[]): T {
  let x = rnd() * weighted.reduce((s, [, w]) => s + w, 0);
  for (const [value, w] of weighted) {
    x -= w;
    if (x <= 0) return value;
  }
  return weighted[weighted.length - 1]![0];
}

export function syntheticCohort(n = 330, seed = 16): CohortRow[] {
  const rnd = seeded(seed);
  return Array.from({ length: n }, (_, i) => {
    // Roughly normal around 62 (sd 17), 18 to 102: a typical adult inpatient mix, a few over 89.
    const normal = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
    const age = Math.max(18, Math.min(102, Math.round(62 + 17 * normal)));
    const zip3 = pick(rnd, ZIP3_WEIGHTS);
    return {
      mrn: `MRN-${String(100000 + i)}`,
      age: String(age),
      sex: rnd() < 0.52 ? 'F' : 'M',
      zip: `${zip3}${String(Math.floor(rnd() * 60)).padStart(2, '0')}`,
      diagnosis: DIAGNOSES[Math.floor(rnd() * DIAGNOSES.length)]!,
    };
  });
}

export function cohortCsv(rows: readonly CohortRow[]): string {
  return writeCsv(['mrn', 'age', 'sex', 'zip', 'diagnosis'], rows as unknown as Record<string, string>[]);
}
