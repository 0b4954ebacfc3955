import { join } from 'node:path';
import type { BlobStore } from '../blobs/blob-store.js';
import type { Db } from '../storage/db.js';
import { TransparencyLog } from '../tlog/transparency-log.js';
import { ensureLogKey, ensureManifestKeys } from './keys.js';
import { ModelPublisher } from './publisher.js';

/**
 * The coordinator's publishing side at startup: the manifest signing key and the log's checkpoint
 * key (created under `<dataDir>/keys/` with mode 0600 at first start), the transparency log, and
 * the publisher; manifests a crash left out of the log are appended now.
 */
export async function startPublishing(db: Db, blobs: BlobStore, dataDir: string): Promise<ModelPublisher> {
  const keys = await ensureManifestKeys(join(dataDir, 'keys', 'manifest-signing'));
  const tlog = new TransparencyLog({ db, signer: await ensureLogKey(join(dataDir, 'keys', 'tlog')) });
  const publisher = new ModelPublisher({ db, blobs, tlog, keys });
  await publisher.flushPending();
  return publisher;
}
