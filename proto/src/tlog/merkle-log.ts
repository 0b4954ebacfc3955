import { TlogError } from './errors.js';
import { consistencyRanges, inclusionRanges, isTreeSize, rangeNodes, type LeafRange, type NodeId } from './geometry.js';
import { foldSubtrees } from './hash.js';
import { planAppend } from './plan-append.js';
import type { TreeHead, TreeStore } from './tree-store.js';

export interface AppendResult {
  /** Index of the first appended leaf; the others follow in order. */
  readonly firstIndex: number;
  readonly size: number;
  readonly rootHash: Uint8Array;
}

/** An append-only RFC 6962 log over any TreeStore: appends, historical roots, inclusion and consistency proofs. */
export class MerkleLog {
  readonly store: TreeStore;

  constructor(store: TreeStore) {
    this.store = store;
  }

  head(): Promise<TreeHead> {
    return this.store.readHead();
  }

  async append(leaves: readonly Uint8Array[]): Promise<AppendResult> {
    const batch = await this.store.append((head) => planAppend(head, leaves));
    return { firstIndex: batch.firstIndex, size: batch.head.size, rootHash: batch.head.rootHash };
  }

  /** MTH of the first `size` leaves, for any size the log has reached. */
  async rootAt(size: number): Promise<Uint8Array> {
    const head = await this.store.readHead();
    this.#checkSize(size, head);
    if (size === head.size) return head.rootHash;
    return foldSubtrees(await this.store.readNodes(rangeNodes(0, size)));
  }

  /** The audit path of leaf `index` in the tree of `size` leaves (default: the current size). */
  async inclusionProof(index: number, size?: number): Promise<Uint8Array[]> {
    const head = await this.store.readHead();
    const treeSize = size ?? head.size;
    this.#checkSize(treeSize, head);
    if (!isTreeSize(index) || index >= treeSize) {
      throw new TlogError('TLOG_INDEX_OUT_OF_RANGE', `leaf index ${String(index)} is not inside a tree of size ${treeSize}`);
    }
    return this.#hashRanges(inclusionRanges(index, treeSize));
  }

  /** The proof that the tree of `size2` leaves (default: current) extends the tree of `size1` leaves. */
  async consistencyProof(size1: number, size2?: number): Promise<Uint8Array[]> {
    const head = await this.store.readHead();
    const to = size2 ?? head.size;
    this.#checkSize(to, head);
    if (!isTreeSize(size1) || size1 > to) {
      throw new TlogError('TLOG_INDEX_OUT_OF_RANGE', `cannot prove consistency from size ${String(size1)} to the smaller size ${to}`);
    }
    return this.#hashRanges(consistencyRanges(size1, to));
  }

  leaf(index: number): Promise<Uint8Array | undefined> {
    return this.store.readLeaf(index);
  }

  #checkSize(size: number, head: TreeHead): void {
    if (!isTreeSize(size) || size > head.size) {
      throw new TlogError('TLOG_INDEX_OUT_OF_RANGE', `tree size ${String(size)} is beyond the log's ${head.size} leaves`);
    }
  }

  /** One batched lookup for all the complete subtrees behind every range, then a fold per range. */
  async #hashRanges(ranges: readonly LeafRange[]): Promise<Uint8Array[]> {
    const perRange = ranges.map((r) => rangeNodes(r.start, r.end));
    const unique = new Map<string, NodeId>();
    for (const ids of perRange) for (const id of ids) unique.set(`${id.level}/${id.index}`, id);
    const wanted = [...unique.values()];
    const hashes = await this.store.readNodes(wanted);
    const byKey = new Map(wanted.map((id, i) => [`${id.level}/${id.index}`, hashes[i]!]));
    return perRange.map((ids) => foldSubtrees(ids.map((id) => byKey.get(`${id.level}/${id.index}`)!)));
  }
}
