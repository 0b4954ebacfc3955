import { isDatabaseUnavailable } from '../storage/errors.js';
import { BlobStoreError } from './errors.js';

const DISK_FULL = '53100';

/** The error a blob operation on `key` throws for a failed database call; unrelated errors pass unchanged. */
export function blobDatabaseError(err: unknown, key: string | undefined): unknown {
  if (err instanceof BlobStoreError) return err;
  const details = key === undefined ? {} : { key };
  const what = key === undefined ? 'payload storage' : `blob ${key}`;
  if (isDatabaseUnavailable(err)) {
    const code = (err as { code?: unknown }).code;
    return new BlobStoreError('BLOB_STORE_UNAVAILABLE', `${what}: the blob database cannot be reached${typeof code === 'string' ? ` (${code})` : ''}`, details, { cause: err });
  }
  if ((err as { code?: unknown } | null)?.code === DISK_FULL) {
    return new BlobStoreError('STORAGE_FULL', `payload storage is full: the blob database has no disk space left (${DISK_FULL}); ${what} was not stored`, details, { cause: err });
  }
  return err;
}
