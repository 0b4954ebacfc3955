import { layerShapes } from './layout.js';

/**
 * The round-0 model: Glorot-uniform kernels and zero biases from a seeded generator, so the
 * coordinator and every site (and a centralised baseline) derive the same starting point.
 */
export function initialWeights(inputs: number, hidden: readonly number[], classes: number, seed: number): Float32Array {
  const shapes = layerShapes(inputs, hidden, classes);
  const total = shapes.reduce((s, l) => s + l.shape.reduce((a, b) => a * b, 1), 0);
  const out = new Float32Array(total);
  const next = mulberry32(seed >>> 0);
  let offset = 0;
  for (const layer of shapes) {
    const size = layer.shape.reduce((a, b) => a * b, 1);
    if (layer.shape.length === 2) {
      const [fanIn, fanOut] = layer.shape as [number, number];
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < size; i++) out[offset + i] = (next() * 2 - 1) * limit;
    }
    offset += size;
  }
  return out;
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
