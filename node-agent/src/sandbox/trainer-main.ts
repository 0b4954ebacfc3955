/**
 * The sandboxed trainer: reads one `train` frame from stdin, runs the colleague's `trainLocal` on
 * exactly what the frame holds, and writes one `result` (or `error`) frame to stdout. It is the
 * untrusted part: it never holds the node identity, the attestation key or the homomorphic key,
 * and what it returns is only raw weights and metrics; the agent clips, noises and encrypts.
 */
import { writeSync } from 'node:fs';
import { gaussian } from '../privacy/noise/gaussian.js';
import { trainLocal } from '../training/train-local.js';
import type { LocalTrainingSettings } from '../training/types.js';
import { decodeFrame } from './protocol/frames.js';
import { decodeTrainerRequest, encodeTrainerError, encodeTrainerResult, type SandboxTrainingSettings } from './protocol/messages.js';

function writeAll(fd: number, bytes: Buffer): void {
  for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at);
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** DP-SGD inside the sandbox draws its noise from the secure source of the privacy module. */
function localSettings(settings: SandboxTrainingSettings): LocalTrainingSettings {
  const { dp, ...rest } = settings;
  if (dp === undefined) return rest;
  return { ...rest, dp: { clipNorm: dp.clipNorm, noiseMultiplier: dp.noiseMultiplier, sampleRate: dp.sampleRate, gaussian: (count, sigma) => gaussian(count, sigma) } };
}

async function main(): Promise<number> {
  try {
    const request = decodeTrainerRequest(decodeFrame(await readStdin()));
    process.env.MEDFED_TRAINING_BACKEND = request.backend;
    const result = await trainLocal(request.arch, request.globalWeights, request.data, localSettings(request.settings));
    writeAll(1, encodeTrainerResult(result));
    return 0;
  } catch (err) {
    const code = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'TRAINER_ERROR';
    writeAll(1, encodeTrainerError(code, err instanceof Error ? err.message : String(err)));
    return 2;
  }
}

process.exit(await main());
