import {
  decodeEncryptedVector, EncryptedAccumulator, heContext, LIMB_MAX_ABS, LIMBS, MAX_LIMB_SITES, vectorHeader,
  type EncryptedSettingsForJob, type HeEncoding, type HeVectorHeader,
} from '@medfed/proto';

/** What a job's encrypted uploads must look like: fixed before any byte is read, checked on every upload. */
export function encodingFor(job: EncryptedSettingsForJob, kind: 'update' | 'stats'): HeEncoding {
  return kind === 'update'
    ? { kind: 'fixed-point', clip: job.clipNorm, fracBits: job.fracBits, maxSites: job.maxSites }
    : { kind: 'exact', maxAbs: LIMB_MAX_ABS, maxSites: Math.min(job.maxSites, MAX_LIMB_SITES) };
}

export async function expectedHeader(job: EncryptedSettingsForJob, kind: 'update' | 'stats', values: number): Promise<HeVectorHeader> {
  const ctx = await heContext(job.paramSet);
  return vectorHeader(ctx, job.keyId, kind === 'stats' ? values * LIMBS : values, encodingFor(job, kind));
}

/**
 * Refuses an encrypted upload whose parameters, key, length or encoding differ from the job's,
 * and any malformed ciphertext, before it is stored or used (HE_* codes).
 */
export async function checkEncryptedUpload(job: EncryptedSettingsForJob, kind: 'update' | 'stats', values: number, bytes: Uint8Array): Promise<void> {
  const ctx = await heContext(job.paramSet);
  const expected = await expectedHeader(job, kind, values);
  const vector = decodeEncryptedVector(ctx, bytes);
  const acc = EncryptedAccumulator.create(ctx, expected);
  try {
    acc.checkHeader(vector.header);
    acc.addVector('check', vector); // parses every chunk exactly as aggregation will
  } finally {
    acc.dispose();
  }
}

/** Sums encrypted uploads one at a time (memory O(model)); the result is an encrypted sum sites decrypt. */
export async function sumEncrypted(job: EncryptedSettingsForJob, kind: 'update' | 'stats', values: number,
  uploads: AsyncIterable<{ siteId: string; bytes: Uint8Array }>): Promise<{ bytes: Uint8Array; contributors: string[] }> {
  const ctx = await heContext(job.paramSet);
  const acc = EncryptedAccumulator.create(ctx, await expectedHeader(job, kind, values));
  try {
    for await (const u of uploads) acc.addVector(u.siteId, decodeEncryptedVector(ctx, u.bytes));
    const contributors = acc.contributors();
    return { bytes: acc.finish({ minContributors: 3 }), contributors };
  } finally {
    acc.dispose();
  }
}

