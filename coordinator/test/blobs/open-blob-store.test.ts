import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { FileBlobStore, openBlobStore, PgBlobStore } from '../../src/blobs/index.js';
import type { Db } from '../../src/storage/db.js';

const fakeDb = (kind: Db['kind']) => ({ kind }) as Db;

describe('openBlobStore', () => {
  it('keeps blobs in PostgreSQL when the coordinator runs on PostgreSQL', () => {
    const store = openBlobStore({ db: fakeDb('postgres'), dataDir: '/var/lib/medfed', chunkSize: 1 << 20 });
    expect(store).toBeInstanceOf(PgBlobStore);
    expect((store as PgBlobStore).chunkSize).toBe(1 << 20);
  });

  it('keeps blobs in files under <dataDir>/blobs otherwise', () => {
    const store = openBlobStore({ db: fakeDb('pglite'), dataDir: '/var/lib/medfed' });
    expect(store).toBeInstanceOf(FileBlobStore);
    expect((store as FileBlobStore).root).toBe(join('/var/lib/medfed', 'blobs'));
  });
});
