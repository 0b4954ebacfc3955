import type { InclusionProof, ModelBundleParts } from '@medfed/proto/bundle/index';
import type { ManifestJwks } from '@medfed/proto/manifest/index';
import {
  MerkleLog,
  NOTE_KEY_TYPE,
  TlogError,
  addSignatures,
  formatVerifierKey,
  hashLeaf,
  parseNote,
  signCheckpoint,
  verifyCheckpoint,
  type NoteSigner,
} from '@medfed/proto/tlog/index';
import type { Db } from '../storage/db.js';
import { groupCommit } from './group-commit.js';
import { SqlTreeStore } from './sql-tree-store.js';

export interface TransparencyLogOptions {
  readonly db: Db;
  /** The log's checkpoint key (signature type 0x01); its name is the log origin. */
  readonly signer: NoteSigner;
  /** Largest number of leaves written in one transaction. Default 1,000. */
  readonly maxBatch?: number;
}

export interface StoredCheckpoint {
  readonly size: number;
  readonly note: string;
}

/**
 * The coordinator's transparency log: appends (group-committed), signed checkpoints with the
 * witnesses' cosignatures, proofs, and the parts of an offline model bundle.
 */
export class TransparencyLog {
  readonly log: MerkleLog;
  readonly origin: string;
  /** The log's verifier key, `<origin>+<key id>+<base64 key>`, as sites pin it. */
  readonly verifierKey: string;
  readonly #db: Db;
  readonly #signer: NoteSigner;
  readonly #appendOne: (leaf: Uint8Array) => Promise<number>;

  constructor(options: TransparencyLogOptions) {
    if (options.signer.type !== NOTE_KEY_TYPE.ED25519) {
      throw new TlogError('NOTE_KEY_INVALID', `the log key ${options.signer.name} must be of signature type 0x01 (Ed25519)`);
    }
    this.#db = options.db;
    this.#signer = options.signer;
    this.origin = options.signer.name;
    this.verifierKey = formatVerifierKey(options.signer.name, NOTE_KEY_TYPE.ED25519, options.signer.publicKey);
    this.log = new MerkleLog(new SqlTreeStore(options.db));
    this.#appendOne = groupCommit(async (leaves) => {
      const { firstIndex } = await this.log.append(leaves);
      return leaves.map((_, i) => firstIndex + i);
    }, options.maxBatch ?? 1000);
  }

  /** Appends one leaf (a manifest's compact JWS bytes, an audit anchor) and returns its index. */
  append(leaf: Uint8Array | string): Promise<number> {
    return this.#appendOne(typeof leaf === 'string' ? Buffer.from(leaf, 'utf8') : leaf);
  }

  /** Appends a leaf and returns its index with a signed checkpoint that includes it (the audit anchorer's AppendLeaf). */
  async appendLeaf(leaf: Uint8Array): Promise<{ index: number; checkpoint: string }> {
    const index = await this.append(leaf);
    const { note } = await this.checkpoint();
    return { index, checkpoint: note };
  }

  /** Signs the current head, stores it, and returns it; an existing checkpoint of that size is returned as stored. */
  async checkpoint(): Promise<StoredCheckpoint> {
    const head = await this.log.head();
    const existing = await this.checkpointAt(head.size);
    if (existing) return existing;
    const note = await signCheckpoint({ origin: this.origin, size: head.size, rootHash: head.rootHash, extensions: [] }, this.#signer);
    await this.#db.query(
      'INSERT INTO tlog_checkpoints (size, root_hash, note) VALUES ($1, $2, $3) ON CONFLICT (size) DO NOTHING',
      [head.size, Buffer.from(head.rootHash), note],
    );
    return (await this.checkpointAt(head.size))!;
  }

  async checkpointAt(size: number): Promise<StoredCheckpoint | undefined> {
    const { rows } = await this.#db.query<{ size: number | string; note: string }>('SELECT size, note FROM tlog_checkpoints WHERE size = $1', [size]);
    return rows[0] ? { size: Number(rows[0].size), note: rows[0].note } : undefined;
  }

  /** The newest stored checkpoints of at least `minSize` leaves, newest first, at most `limit` of them. */
  async checkpointsFrom(minSize: number, limit: number): Promise<StoredCheckpoint[]> {
    const { rows } = await this.#db.query<{ size: number | string; note: string }>(
      'SELECT size, note FROM tlog_checkpoints WHERE size >= $1 ORDER BY size DESC LIMIT $2', [minSize, limit]);
    return rows.map((r) => ({ size: Number(r.size), note: r.note }));
  }

  /** The witness verifier keys the sites registered at Enroll: whose cosignatures of this log's checkpoints count. */
  async witnessKeys(): Promise<string[]> {
    const { rows } = await this.#db.query<{ vkey: string }>('SELECT vkey FROM site_witness_keys ORDER BY site_id');
    return rows.map((r) => r.vkey);
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    const { rows } = await this.#db.query<{ size: number | string; note: string }>('SELECT size, note FROM tlog_checkpoints ORDER BY size DESC LIMIT 1');
    return rows[0] ? { size: Number(rows[0].size), note: rows[0].note } : undefined;
  }

  /**
   * Records witness cosignatures: `cosigned` must be one of this log's stored checkpoints (same
   * body, valid log signature); its extra signature lines are merged into the stored note.
   */
  async addCosignatures(cosigned: string): Promise<StoredCheckpoint> {
    const { checkpoint } = verifyCheckpoint(cosigned, this.verifierKey);
    // Sites cosign the same checkpoint at the same moment: the merge is compare-and-set on the stored
    // note, retried on a concurrent change, so no witness's line is lost to another's write.
    for (;;) {
      const stored = await this.checkpointAt(checkpoint.size);
      if (!stored || parseNote(stored.note).text !== parseNote(cosigned).text) {
        throw new TlogError('TLOG_CONSISTENCY_INVALID', `the cosigned checkpoint of size ${checkpoint.size} is not the one this log published`);
      }
      const known = new Set(parseNote(stored.note).signatures.map((s) => `${s.name}+${s.keyId}`));
      const added = parseNote(cosigned).signatures.filter((s) => !known.has(`${s.name}+${s.keyId}`));
      if (added.length === 0) return stored;
      const note = addSignatures(stored.note, added);
      const { rows } = await this.#db.query('UPDATE tlog_checkpoints SET note = $2 WHERE size = $1 AND note = $3 RETURNING size', [checkpoint.size, note, stored.note]);
      if (rows.length === 1) return { size: checkpoint.size, note };
    }
  }

  async inclusionProof(leafIndex: number, treeSize?: number): Promise<InclusionProof> {
    const size = treeSize ?? (await this.log.head()).size;
    return { leafIndex, treeSize: size, hashes: await this.log.inclusionProof(leafIndex, size) };
  }

  consistencyProof(size1: number, size2?: number): Promise<Uint8Array[]> {
    return this.log.consistencyProof(size1, size2);
  }

  /** The index of a logged leaf (e.g. a manifest JWS), if it is in the log. */
  findLeaf(leaf: Uint8Array | string): Promise<number | undefined> {
    return this.log.store.findLeaf(hashLeaf(typeof leaf === 'string' ? Buffer.from(leaf, 'utf8') : leaf));
  }

  /**
   * Everything writeModelBundle needs for a logged manifest: the latest stored checkpoint (with its
   * cosignatures) and an inclusion proof against it.
   */
  async bundleParts(input: { readonly model: Uint8Array; readonly manifestJws: string; readonly jwks: ManifestJwks }): Promise<ModelBundleParts> {
    const index = await this.findLeaf(input.manifestJws);
    if (index === undefined) throw new TlogError('TLOG_INDEX_OUT_OF_RANGE', 'the manifest is not in the transparency log; append it before exporting');
    let checkpoint = await this.latestCheckpoint();
    if (!checkpoint || checkpoint.size <= index) checkpoint = await this.checkpoint();
    return {
      model: input.model,
      manifestJws: input.manifestJws,
      checkpoint: checkpoint.note,
      inclusionProof: await this.inclusionProof(index, checkpoint.size),
      jwks: input.jwks,
      checkpointVerifierKey: this.verifierKey,
    };
  }
}
