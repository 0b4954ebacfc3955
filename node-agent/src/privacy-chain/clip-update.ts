/**
 * Update-level L2 clipping: scales the whole update down to norm `clipNorm` when it is longer,
 * so no single site can dominate an aggregate (and every coordinate lands in [-clipNorm, clipNorm],
 * the range the encrypted encoding carries). Runs in the agent, outside the trainer.
 */
export function clipUpdate(update: Float32Array, clipNorm: number): { clipped: Float32Array; norm: number; scaled: boolean } {
  let sq = 0;
  for (let i = 0; i < update.length; i++) sq += update[i]! * update[i]!;
  const norm = Math.sqrt(sq);
  if (norm <= clipNorm) return { clipped: update, norm, scaled: false };
  const factor = clipNorm / norm;
  const clipped = new Float32Array(update.length);
  for (let i = 0; i < update.length; i++) {
    // float32 rounding could push a coordinate a hair past the bound; keep it inside
    clipped[i] = Math.max(-clipNorm, Math.min(clipNorm, update[i]! * factor));
  }
  return { clipped, norm, scaled: true };
}
