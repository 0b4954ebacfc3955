-- Transparency log (docs/transparency-log.md): an RFC 6962 / RFC 9162 Merkle log whose leaves are the
-- exact bytes of signed manifests (compact JWS) and of audit-chain anchors.
-- Storage keeps the hash of every complete subtree as leaves arrive, so any inclusion or consistency
-- proof is one indexed lookup of O(log n) rows, and an append never reads old nodes: the head row holds
-- the frontier (the complete subtrees that make up the current tree).
-- Leaves, nodes and published checkpoints are append-only: a trigger refuses UPDATE, DELETE and
-- TRUNCATE for every role. Production: grant the application role only SELECT, INSERT on them (and
-- UPDATE on tlog_head).

-- The single head row. Appenders lock it FOR UPDATE: one writer at a time, across connections and
-- processes; the new leaves, nodes and head are written in the same transaction.
CREATE TABLE tlog_head (
  singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  size        bigint NOT NULL CHECK (size >= 0),
  root_hash   bytea NOT NULL CHECK (length(root_hash) = 32),
  -- Concatenated 32-byte hashes of the complete subtrees covering [0, size), left to right.
  frontier    bytea NOT NULL CHECK (length(frontier) % 32 = 0),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
-- The empty tree: size 0, root SHA-256("").
INSERT INTO tlog_head (singleton, size, root_hash, frontier)
  VALUES (true, 0, decode('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'hex'), ''::bytea);

CREATE TABLE tlog_leaves (
  idx         bigint PRIMARY KEY CHECK (idx >= 0),
  -- SHA-256(0x00 || data)
  leaf_hash   bytea NOT NULL CHECK (length(leaf_hash) = 32),
  data        bytea NOT NULL,
  appended_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tlog_leaves_hash_idx ON tlog_leaves (leaf_hash);

-- (level, idx) is the complete subtree over leaves [idx * 2^level, (idx + 1) * 2^level).
CREATE TABLE tlog_nodes (
  level       smallint NOT NULL CHECK (level BETWEEN 0 AND 62),
  idx         bigint NOT NULL CHECK (idx >= 0),
  hash        bytea NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (level, idx)
);

-- Signed checkpoints (c2sp.org/tlog-checkpoint notes) as published, witness cosignatures included.
-- A row's note may gain cosignature lines (UPDATE of note only, same checkpoint body); it is never removed.
CREATE TABLE tlog_checkpoints (
  size        bigint PRIMARY KEY CHECK (size >= 0),
  root_hash   bytea NOT NULL CHECK (length(root_hash) = 32),
  note        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION tlog_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- A checkpoint may gain signatures; what it states (size and root) never changes.
  IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'tlog_checkpoints' THEN
    IF NEW.size = OLD.size AND NEW.root_hash = OLD.root_hash THEN
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION 'medfed tlog: % on % is refused: the transparency log is append-only', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER tlog_leaves_append_only BEFORE UPDATE OR DELETE ON tlog_leaves
  FOR EACH ROW EXECUTE FUNCTION tlog_refuse_change();
CREATE TRIGGER tlog_leaves_no_truncate BEFORE TRUNCATE ON tlog_leaves
  FOR EACH STATEMENT EXECUTE FUNCTION tlog_refuse_change();
CREATE TRIGGER tlog_nodes_append_only BEFORE UPDATE OR DELETE ON tlog_nodes
  FOR EACH ROW EXECUTE FUNCTION tlog_refuse_change();
CREATE TRIGGER tlog_nodes_no_truncate BEFORE TRUNCATE ON tlog_nodes
  FOR EACH STATEMENT EXECUTE FUNCTION tlog_refuse_change();
CREATE TRIGGER tlog_checkpoints_append_only BEFORE UPDATE OR DELETE ON tlog_checkpoints
  FOR EACH ROW EXECUTE FUNCTION tlog_refuse_change();
CREATE TRIGGER tlog_checkpoints_no_truncate BEFORE TRUNCATE ON tlog_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION tlog_refuse_change();
