import { TlogError } from './errors.js';
import { rangeNodes } from './geometry.js';
import { EMPTY_ROOT_HASH, foldSubtrees, hashChildren, hashLeaf } from './hash.js';
import type { AppendBatch, StoredNode, TreeHead } from './tree-store.js';

export const EMPTY_TREE_HEAD: TreeHead = { size: 0, rootHash: EMPTY_ROOT_HASH, frontier: [] };

/**
 * Computes every node an append creates from the head's frontier alone: appending leaf i merges
 * it with the frontier's trailing subtrees of equal size, which are exactly its left siblings.
 */
export function planAppend(head: TreeHead, leaves: readonly Uint8Array[]): AppendBatch {
  const shape = rangeNodes(0, head.size);
  if (shape.length !== head.frontier.length) {
    throw new TlogError('TLOG_NODE_MISSING', `the stored frontier has ${head.frontier.length} hashes but a tree of size ${head.size} has ${shape.length}`);
  }
  const frontier: StoredNode[] = shape.map((id, i) => ({ ...id, hash: head.frontier[i]! }));
  const nodes: StoredNode[] = [];
  const leafHashes: Uint8Array[] = [];
  let size = head.size;
  for (const data of leaves) {
    const hash = hashLeaf(data);
    leafHashes.push(hash);
    let node: StoredNode = { level: 0, index: size, hash };
    nodes.push(node);
    // Merge while the frontier's last subtree is the left sibling of the new one.
    for (let last = frontier.at(-1); last !== undefined && last.level === node.level; last = frontier.at(-1)) {
      frontier.pop();
      node = { level: node.level + 1, index: last.index / 2, hash: hashChildren(last.hash, node.hash) };
      nodes.push(node);
    }
    frontier.push(node);
    size++;
  }
  const hashes = frontier.map((n) => n.hash);
  return {
    firstIndex: head.size,
    leaves,
    leafHashes,
    nodes,
    head: { size, rootHash: foldSubtrees(hashes), frontier: hashes },
  };
}
