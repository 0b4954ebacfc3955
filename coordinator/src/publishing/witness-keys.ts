import { formatNote, NOTE_KEY_TYPE, noteVerifier, parseNote, verifyCosignatures } from '@medfed/proto/tlog/index';
import type { Db } from '../storage/db.js';
import type { StoredCheckpoint, TransparencyLog } from '../tlog/transparency-log.js';
import { PublishingError } from './errors.js';

/** Stores the witness verifier key a site sent at Enroll (type 0x04 only); an empty key changes nothing. */
export async function registerWitnessKey(db: Db, siteId: string, vkey: string): Promise<void> {
  const key = vkey.trim();
  if (key === '') return;
  let type: number;
  try {
    type = noteVerifier(key).type;
  } catch (err) {
    throw new PublishingError('PUBLISH_WITNESS_KEY_INVALID', `witness_vkey is not a signed-note verifier key: ${(err as Error).message}`, undefined, { cause: err });
  }
  if (type !== NOTE_KEY_TYPE.COSIGNATURE_V1) {
    throw new PublishingError('PUBLISH_WITNESS_KEY_INVALID', `witness_vkey must be of signature type 0x04 (cosignature/v1), not 0x${type.toString(16).padStart(2, '0')}`);
  }
  await db.query(
    `INSERT INTO site_witness_keys (site_id, vkey) VALUES ($1, $2)
     ON CONFLICT (site_id) DO UPDATE SET vkey = $2, updated_at = now()`, [siteId, key]);
}

/**
 * Accepts a site's cosignature of one of the log's checkpoints: the note must carry a valid
 * cosignature by the site's registered witness key, and its body must be a checkpoint this log
 * published; only then is the cosignature line merged into the stored checkpoint row.
 */
export async function acceptCosignature(db: Db, tlog: TransparencyLog, siteId: string, cosigned: string): Promise<StoredCheckpoint> {
  if (cosigned.length === 0 || cosigned.length > 64 * 1024) {
    throw new PublishingError('PUBLISH_COSIGNATURE_INVALID', 'cosigned_checkpoint must be a signed checkpoint note of at most 64 KiB');
  }
  const { rows } = await db.query<{ vkey: string }>('SELECT vkey FROM site_witness_keys WHERE site_id = $1', [siteId]);
  const vkey = rows[0]?.vkey;
  if (!vkey) throw new PublishingError('PUBLISH_WITNESS_UNKNOWN', `site ${siteId} registered no witness key (witness_vkey at Enroll); its cosignatures cannot be checked`);
  const witness = noteVerifier(vkey);
  try {
    verifyCosignatures(cosigned, { witnessKeys: [vkey], required: 1 });
  } catch (err) {
    throw new PublishingError('PUBLISH_COSIGNATURE_INVALID', `the checkpoint carries no valid cosignature by ${witness.name}: ${(err as Error).message}`, undefined, { cause: err });
  }
  // Only the log's line and the site's own line are kept: other lines are not this caller's to add.
  const log = noteVerifier(tlog.verifierKey);
  const note = parseNote(cosigned);
  const kept = note.signatures.filter((s) => (s.name === witness.name && s.keyId === witness.keyId) || (s.name === log.name && s.keyId === log.keyId));
  return tlog.addCosignatures(formatNote({ text: note.text, signatures: kept }));
}
