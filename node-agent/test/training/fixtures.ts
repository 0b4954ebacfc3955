import { seededRandom } from '../../src/training/prng.js';
import type { TrainingData } from '../../src/training/types.js';

/**
 * Three Gaussian blobs in `d` dimensions whose class depends on the sign pattern of the first two
 * features: a hidden layer separates them, so a working trainer reaches high accuracy.
 */
export function blobs(n: number, d: number, seed: number): TrainingData {
  const random = seededRandom(seed);
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  const centres = [[-1.5, -1.5], [1.5, 1.5], [1.5, -1.5]] as const;
  for (let i = 0; i < n; i++) {
    const label = random.nextInt(3);
    y[i] = label;
    for (let j = 0; j < d; j++) {
      const centre = j < 2 ? centres[label]![j]! : 0;
      x[i * d + j] = centre + (random.next() + random.next() + random.next() - 1.5) * 1.2;
    }
  }
  return { x, y, n, d };
}
