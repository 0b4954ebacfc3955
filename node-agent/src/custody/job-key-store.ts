import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  heContext, importSecretKey, readKeyFile, unwrapSiteKey, writeKeyFile, type HeContext, type HeSecretKey,
} from '@medfed/proto';
import type { SiteKeys } from './site-keys.js';

export interface WrappedJobKey {
  readonly epoch: number;
  readonly paramSet: string;
  readonly keyId: string;
  readonly jwe: string;
}

/**
 * The job's homomorphic secret key at this site: unwrapped once with the site's key-agreement
 * key, kept in a file of mode 0600 in the agent's state dir, held in memory while the agent runs.
 * It never reaches the sandboxed trainer or the coordinator.
 */
export class JobKeyStore {
  private readonly dir: string;
  private readonly siteId: string;
  private readonly keys: SiteKeys;
  private readonly cache = new Map<string, { ctx: HeContext; key: HeSecretKey }>();

  constructor(stateDir: string, siteId: string, keys: SiteKeys) {
    this.dir = join(stateDir, 'he-keys');
    this.siteId = siteId;
    this.keys = keys;
  }

  async get(jobId: string, epoch: number, paramSet: string, keyId: string, fetchWrapped: () => Promise<WrappedJobKey>) {
    const name = `${jobId}-e${epoch}`;
    const cached = this.cache.get(name);
    if (cached && cached.key.keyId === keyId) return cached;
    const ctx = await heContext(paramSet);
    const path = join(this.dir, `${name}.key`);
    let bytes: Uint8Array;
    try {
      const record = await readKeyFile(path);
      bytes = record.secretKey;
    } catch (err) {
      if ((err as { code?: string }).code === 'HE_KEY_FILE_PERMISSIONS') throw err;
      const wrapped = await fetchWrapped();
      const unwrapped = await unwrapSiteKey(wrapped.jwe, this.keys.keyAgreement.privateKey, {
        siteId: this.siteId, job: jobId, epoch: wrapped.epoch, paramSetId: wrapped.paramSet, keyId,
      });
      bytes = unwrapped.secretKey;
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await writeKeyFile(path, { job: jobId, epoch: wrapped.epoch, siteId: this.siteId, paramSetId: wrapped.paramSet, keyId, secretKey: bytes });
    }
    const key = importSecretKey(ctx, bytes);
    bytes.fill(0);
    const entry = { ctx, key };
    this.cache.set(name, entry);
    return entry;
  }

  /**
   * An epoch's secret key as bytes, for the ceremony of a later epoch to wrap it for a joining
   * site; the caller zeroises the copy once it is wrapped.
   */
  async exportKey(jobId: string, epoch: number, paramSet: string, keyId: string, fetchWrapped: () => Promise<WrappedJobKey>): Promise<Uint8Array> {
    const { key } = await this.get(jobId, epoch, paramSet, keyId, fetchWrapped);
    return key.export();
  }
}
