import { createHash } from 'node:crypto';
import type { Manifest } from '../../src/manifest/index.js';

export const sha256Hex = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

export function sampleManifest(overrides: Partial<Manifest> = {}): Manifest {
  return {
    version: 1,
    kind: 'encrypted-global-model',
    job: 'job-7',
    round: 3,
    blobs: [{ name: 'model.bin', sha256: sha256Hex('model bytes'), size: 11 }],
    previousManifest: sha256Hex('previous manifest'),
    contributors: [
      { site: 'site-a', sha256: sha256Hex('update a') },
      { site: 'site-b', sha256: sha256Hex('update b') },
    ],
    paramsDigest: sha256Hex('he params'),
    policyVersion: '2025.1',
    issuedAt: '2025-06-01T12:00:00Z',
    ...overrides,
  };
}
