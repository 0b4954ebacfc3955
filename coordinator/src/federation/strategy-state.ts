import { decodeServerState, encodeServerState, sha256Hex, type ServerState } from '@medfed/proto';
import type { BlobStore } from '../blobs/blob-store.js';
import { FederationError } from './errors.js';

/** Where a plaintext job's strategy state lives: a blob, named by the job row (key and digest). */
export interface StateRef {
  readonly key: string;
  readonly sha256: string;
}

/**
 * The strategy state after a round of a plaintext job (momentum, moments), written to the blob store
 * before the round-close transaction names it: a crash in between leaves an unreferenced blob, never
 * a reference without its bytes. Null for a stateless step (nothing to write).
 */
export async function storeServerState(blobs: BlobStore, jobId: string, round: number, state: ServerState | null): Promise<StateRef | null> {
  if (state === null) return null;
  const bytes = encodeServerState(state);
  const sha256 = sha256Hex(bytes);
  const key = `strategy-state/${jobId}/${round}-${sha256}`;
  await blobs.put(key, bytes);
  return { key, sha256 };
}

/** The state a round starts from; read when the round closes (never on a poll) and checked against its digest. */
export async function loadServerState(blobs: BlobStore, jobId: string, ref: { key: string | null; sha256: string | null }): Promise<ServerState | null> {
  if (ref.key === null || ref.sha256 === null) return null;
  const bytes = await blobs.get(ref.key);
  const digest = sha256Hex(bytes);
  if (digest !== ref.sha256) {
    throw new FederationError('INTERNAL', `the strategy state of job ${jobId} (${ref.key}) hashes to ${digest}, the job records ${ref.sha256}`);
  }
  return decodeServerState(bytes);
}
