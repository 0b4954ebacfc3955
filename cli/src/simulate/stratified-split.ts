import { SimulateError } from './errors.js';
import { seededRandom, shuffleInPlace } from './random.js';

/**
 * Train/test split that keeps every class's share: within each class (in first-seen order) the
 * rows are shuffled and round(count * testFraction) of them go to test. Indices come back sorted.
 */
export function stratifiedSplit(labels: readonly string[], testFraction: number, seed: number): { train: number[]; test: number[] } {
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new SimulateError('SIMULATE_ARGUMENT_INVALID', `testFraction must be strictly between 0 and 1, got ${testFraction}.`);
  }
  const random = seededRandom(seed);
  const train: number[] = [];
  const test: number[] = [];
  for (const rows of rowsByClass(labels).values()) {
    shuffleInPlace(rows, random);
    const testCount = Math.round(rows.length * testFraction);
    test.push(...rows.slice(0, testCount));
    train.push(...rows.slice(testCount));
  }
  const ascending = (a: number, b: number): number => a - b;
  return { train: train.sort(ascending), test: test.sort(ascending) };
}

/** Row indices per label, classes in first-seen order (deterministic for a given label list). */
export function rowsByClass(labels: readonly string[]): Map<string, number[]> {
  const byClass = new Map<string, number[]>();
  labels.forEach((label, row) => {
    const rows = byClass.get(label);
    if (rows === undefined) byClass.set(label, [row]);
    else rows.push(row);
  });
  return byClass;
}
