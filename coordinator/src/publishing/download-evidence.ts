import { toHex, verifyCosignatures } from '@medfed/proto/tlog/index';
import type { StoredCheckpoint } from '../tlog/transparency-log.js';
import type { ModelPublisher } from './publisher.js';

/** What the DownloadModel header carries so that a site can verify before loading. */
export interface DownloadEvidence {
  readonly manifestJws: string;
  readonly checkpoint: string;
  readonly leafIndex: number;
  readonly treeSize: number;
  readonly inclusionProof: string[];
  readonly consistencyProof: string[];
}

/** How many stored checkpoints a download looks at for the best-cosigned one (newest first). */
export const COSIGNED_CHECKPOINT_WINDOW = 64;

/**
 * The manifest of `modelId`, a signed checkpoint (with the cosignatures collected so far), the
 * manifest's inclusion proof under it, and a consistency proof from the tree size the site last
 * verified. A site that claims a larger tree than the log has gets no proof: it will refuse the
 * checkpoint as a rollback, which is the point.
 *
 * The checkpoint is the stored one that the sites' witnesses have cosigned most (chooseCheckpoint),
 * not necessarily the head: a site that requires k cosignatures can only be satisfied by a
 * checkpoint the other sites already cosigned, and the head moves with every published model and
 * audit anchor.
 */
export async function downloadEvidence(publisher: ModelPublisher, modelId: string, knownTreeSize: number): Promise<DownloadEvidence> {
  const manifest = await publisher.manifestOf(modelId);
  const known = Number.isSafeInteger(knownTreeSize) && knownTreeSize > 0 ? knownTreeSize : 0;
  const checkpoint = await chooseCheckpoint(publisher, manifest.leafIndex, known);
  const inclusion = await publisher.tlog.inclusionProof(manifest.leafIndex, checkpoint.size);
  const consistency = known > 0 && known < checkpoint.size ? await publisher.tlog.consistencyProof(known, checkpoint.size) : [];
  return {
    manifestJws: manifest.jws,
    checkpoint: checkpoint.note,
    leafIndex: manifest.leafIndex,
    treeSize: checkpoint.size,
    inclusionProof: inclusion.hashes.map(toHex),
    consistencyProof: consistency.map(toHex),
  };
}

/**
 * Among the newest stored checkpoints that include the leaf (size > leafIndex) and do not roll the
 * site back (size >= knownTreeSize), the one with the most valid cosignatures by registered
 * witnesses, ties to the newest. None qualifies, or none is cosigned: a fresh head checkpoint, as
 * without witnesses. A site that claims more than the log has gets the head and refuses it.
 */
async function chooseCheckpoint(publisher: ModelPublisher, leafIndex: number, knownTreeSize: number): Promise<StoredCheckpoint> {
  const { tlog } = publisher;
  const candidates = await tlog.checkpointsFrom(Math.max(leafIndex + 1, knownTreeSize), COSIGNED_CHECKPOINT_WINDOW);
  const witnessKeys = candidates.length > 0 ? await tlog.witnessKeys() : [];
  let best: { checkpoint: StoredCheckpoint; cosigners: number } | null = null;
  for (const checkpoint of candidates) {
    const cosigners = countCosigners(checkpoint.note, witnessKeys);
    if (cosigners > (best?.cosigners ?? 0)) best = { checkpoint, cosigners };
  }
  return best?.checkpoint ?? tlog.checkpoint();
}

/** Distinct registered witnesses whose cosignature over the note verifies; a line by any other key counts for nothing. */
function countCosigners(note: string, witnessKeys: readonly string[]): number {
  if (witnessKeys.length === 0) return 0;
  try {
    return verifyCosignatures(note, { witnessKeys, required: 0 }).length;
  } catch {
    return 0;
  }
}
