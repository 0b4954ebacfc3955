import type { NodeId } from './geometry.js';

/** The state an append needs and nothing more: no read of older nodes is ever required to append. */
export interface TreeHead {
  readonly size: number;
  readonly rootHash: Uint8Array;
  /** Hashes of the complete subtrees rangeNodes(0, size), left to right (at most 53). */
  readonly frontier: readonly Uint8Array[];
}

export interface StoredNode extends NodeId {
  readonly hash: Uint8Array;
}

/** Everything one append writes, computed before anything is written (see planAppend). */
export interface AppendBatch {
  readonly firstIndex: number;
  /** Leaf data, exactly as logged (for medfed: the bytes of a compact JWS). */
  readonly leaves: readonly Uint8Array[];
  readonly leafHashes: readonly Uint8Array[];
  /** Every complete subtree these leaves complete, level 0 (the leaf hashes) included. */
  readonly nodes: readonly StoredNode[];
  readonly head: TreeHead;
}

/**
 * Storage of a Merkle log. Stored nodes are immutable, so a proof is one batched lookup of
 * O(log n) nodes. Implementations: MemoryTreeStore (tests, tools) and the coordinator's PostgreSQL
 * store.
 */
export interface TreeStore {
  readHead(): Promise<TreeHead>;
  /** The hashes of the given complete subtrees, in the order asked; TLOG_NODE_MISSING if one is absent. */
  readNodes(ids: readonly NodeId[]): Promise<Uint8Array[]>;
  readLeaf(index: number): Promise<Uint8Array | undefined>;
  /** The first index holding a leaf with this leaf hash. */
  findLeaf(leafHash: Uint8Array): Promise<number | undefined>;
  /**
   * One writer at a time: `plan` receives the head as of the writer's exclusive hold, and its batch
   * is stored together with the new head atomically (all of it or none of it).
   */
  append(plan: (head: TreeHead) => AppendBatch): Promise<AppendBatch>;
}
