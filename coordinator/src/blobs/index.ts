export type { BlobStore } from './blob-store.js';
export { FileBlobStore } from './file-blob-store.js';
export { PgBlobStore, DEFAULT_BLOB_CHUNK_SIZE, type PgBlobStoreOptions } from './pg-blob-store.js';
export { openBlobStore } from './open.js';
export { BLOB_ERRORS, BlobStoreError, type BlobErrorCode } from './errors.js';
