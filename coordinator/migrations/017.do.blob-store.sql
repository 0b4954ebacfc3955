-- Payloads (models, updates, releases) in the database, for PostgreSQL deployments whose coordinator
-- replicas share the database and no disk (coordinator/src/blobs/pg-blob-store.ts). A blob is one
-- `blobs` row and its chunks, written in one transaction; chunk `seq` holds bytes
-- [seq * chunk_size, (seq + 1) * chunk_size). Readers check the chunks against `sha256`.
CREATE TABLE blobs (
  key         text PRIMARY KEY,
  byte_size   bigint NOT NULL CHECK (byte_size >= 0),
  sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  chunk_size  integer NOT NULL CHECK (chunk_size > 0),
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE blob_chunks (
  key   text NOT NULL REFERENCES blobs (key) ON DELETE CASCADE,
  seq   integer NOT NULL CHECK (seq >= 0),
  data  bytea NOT NULL,
  PRIMARY KEY (key, seq)
);
-- Out of line, uncompressed: payloads are encrypted or dense floats that do not compress, so
-- compressing only costs CPU, and uncompressed TOAST values can be sliced without reading them whole.
ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
