import { toHex } from '@medfed/proto/tlog/index';
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

/**
 * The manifest of `modelId`, a signed checkpoint (with the cosignatures collected so far), the
 * manifest's inclusion proof under it, and a consistency proof from the tree size the site last
 * verified. A site that claims a larger tree than the log has gets no proof: it will refuse the
 * checkpoint as a rollback, which is the point.
 */
export async function downloadEvidence(publisher: ModelPublisher, modelId: string, knownTreeSize: number): Promise<DownloadEvidence> {
  const manifest = await publisher.manifestOf(modelId);
  const checkpoint = await publisher.tlog.checkpoint();
  const inclusion = await publisher.tlog.inclusionProof(manifest.leafIndex, checkpoint.size);
  const known = Number.isSafeInteger(knownTreeSize) && knownTreeSize > 0 ? knownTreeSize : 0;
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
