import { chmod, readdir, rm, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TrainerRequest } from '../../src/sandbox/index.js';

export const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** A small, learnable task: two features decide three classes. */
export function request(options: { n?: number; seed?: number; target?: string } = {}): TrainerRequest {
  const n = options.n ?? 240;
  const d = 4;
  const x = Float32Array.from({ length: n * d }, (_, i) => Math.sin(i * 1.7 + 0.3));
  const y = Int32Array.from({ length: n }, (_, i) => (x[i * d]! > 0 ? 1 : 0) + (x[i * d + 1]! > 0.4 ? 1 : 0));
  const arch = { inputs: d, hidden: [8], classes: 3, activation: 'relu' as const };
  const weightCount = d * 8 + 8 + 8 * 3 + 3;
  return {
    arch,
    backend: 'wasm',
    settings: {
      localEpochs: 2, batchSize: 16, learningRate: 0.05, optimizer: 'adam', seed: options.seed ?? 11,
      ...(options.target === undefined ? {} : { target: options.target }),
    } as TrainerRequest['settings'],
    globalWeights: Float32Array.from({ length: weightCount }, (_, i) => Math.cos(i * 0.37) * 0.2),
    data: { x, y, n, d },
  };
}

/** Staged bundles are sealed read-only; open them up before removing. */
export async function removeSealed(dir: string): Promise<void> {
  const open = async (path: string) => {
    const s = await lstat(path).catch(() => undefined);
    if (!s?.isDirectory()) return;
    await chmod(path, 0o755);
    for (const name of await readdir(path)) await open(join(path, name));
  };
  await open(dir);
  await rm(dir, { recursive: true, force: true });
}
