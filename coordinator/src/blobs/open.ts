import { join, resolve } from 'node:path';
import type { Db } from '../storage/db.js';
import { FileBlobStore } from './file-blob-store.js';
import { PgBlobStore } from './pg-blob-store.js';

/**
 * The payload store for a coordinator: in PostgreSQL when the coordinator runs on PostgreSQL
 * (replicas share the database, not a disk), otherwise files under `<dataDir>/blobs`.
 */
export function openBlobStore(options: {
  db: Db; dataDir: string; chunkSize?: number; store?: 'auto' | 'postgres' | 'file'; dir?: string | undefined;
}): PgBlobStore | FileBlobStore {
  const store = options.store ?? 'auto';
  if (store === 'postgres' || (store === 'auto' && options.db.kind === 'postgres')) {
    return new PgBlobStore(options.db, options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize });
  }
  return new FileBlobStore(options.dir ? resolve(options.dir) : join(options.dataDir, 'blobs'));
}
