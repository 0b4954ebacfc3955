import { TLOG_TAIL_MAX_LEAVES, type AnchorRecord, type TlogTailJson } from '@medfed/proto/audit/index';
import { frontierNodes, toBase64, toHex, TlogError, type MerkleLog } from '@medfed/proto/tlog/index';

/**
 * The log's tail for an export: every leaf after the last anchor in range up to `treeSize`, and
 * the frontier of the tree before it, so a verifier holding the pinned log key can tell that no
 * later anchor (and so no later entry) was left out. Null when the tail is over the cap.
 */
export async function readTlogTail(log: MerkleLog, anchors: readonly AnchorRecord[], treeSize: number, maxLeaves = TLOG_TAIL_MAX_LEAVES): Promise<TlogTailJson | null> {
  const start = anchors.reduce((max, a) => Math.max(max, a.leaf_index + 1), 0);
  if (treeSize - start > maxLeaves) return null;
  const frontier = await log.store.readNodes(frontierNodes(start));
  const leaves: string[] = [];
  for (let i = start; i < treeSize; i++) {
    const leaf = await log.leaf(i);
    if (!leaf) throw new TlogError('TLOG_NODE_MISSING', `log leaf ${i} is missing: the log storage is incomplete`);
    leaves.push(toBase64(leaf));
  }
  return { start, frontier: frontier.map(toHex), leaves };
}
