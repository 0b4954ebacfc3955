import { TlogError } from './errors.js';
import type { NodeId } from './geometry.js';
import { toHex } from './encoding.js';
import { EMPTY_TREE_HEAD } from './plan-append.js';
import type { AppendBatch, TreeHead, TreeStore } from './tree-store.js';

/** A TreeStore in memory: for tests, tools and short-lived logs. Appends are serialised by a promise chain. */
export class MemoryTreeStore implements TreeStore {
  #head: TreeHead = EMPTY_TREE_HEAD;
  readonly #levels: Uint8Array[][] = [];
  readonly #leaves: Uint8Array[] = [];
  readonly #byLeafHash = new Map<string, number>();
  #tail: Promise<unknown> = Promise.resolve();

  async readHead(): Promise<TreeHead> {
    return this.#head;
  }

  async readNodes(ids: readonly NodeId[]): Promise<Uint8Array[]> {
    return ids.map(({ level, index }) => {
      const hash = this.#levels[level]?.[index];
      if (!hash) throw new TlogError('TLOG_NODE_MISSING', `no stored node at level ${level}, index ${index}`);
      return hash;
    });
  }

  async readLeaf(index: number): Promise<Uint8Array | undefined> {
    return this.#leaves[index];
  }

  async findLeaf(leafHash: Uint8Array): Promise<number | undefined> {
    return this.#byLeafHash.get(toHex(leafHash));
  }

  append(plan: (head: TreeHead) => AppendBatch): Promise<AppendBatch> {
    const run = this.#tail.then(() => {
      const batch = plan(this.#head);
      if (batch.firstIndex !== this.#head.size) {
        throw new TlogError('TLOG_STORE_CONFLICT', `append planned at ${batch.firstIndex} but the log has ${this.#head.size} leaves`);
      }
      for (const node of batch.nodes) (this.#levels[node.level] ??= [])[node.index] = node.hash;
      batch.leaves.forEach((data, i) => {
        const index = batch.firstIndex + i;
        this.#leaves[index] = data;
        const key = toHex(batch.leafHashes[i]!);
        if (!this.#byLeafHash.has(key)) this.#byLeafHash.set(key, index);
      });
      this.#head = batch.head;
      return batch;
    });
    this.#tail = run.catch(() => {});
    return run;
  }
}
