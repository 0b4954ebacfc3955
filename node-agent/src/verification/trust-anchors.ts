import { readFile } from 'node:fs/promises';
import { parseJwks, type ManifestJwks } from '@medfed/proto/manifest/index';
import { noteVerifier } from '@medfed/proto/tlog/index';
import { TrustError } from './errors.js';

/** What the agent trusts: the coordinator's manifest keys and the log's checkpoint key, pinned in its config. */
export interface TrustAnchors {
  readonly jwks: ManifestJwks;
  /** `<origin>+<hex key id>+<base64 key>` of the log. */
  readonly checkpointKey: string;
}

export interface TrustSettings {
  /** Path of the coordinator's manifest JWKS (retired keys included). */
  readonly manifestJwks?: string | undefined;
  /** The log's checkpoint verifier key itself. */
  readonly checkpointKey?: string | undefined;
}

/** Reads the pinned anchors; null when none are configured (the caller decides what that means). */
export async function loadTrustAnchors(settings: TrustSettings | undefined): Promise<TrustAnchors | null> {
  const file = settings?.manifestJwks;
  const key = settings?.checkpointKey?.trim();
  if (!file && !key) return null;
  if (!file || !key) throw new TrustError('TRUST_ANCHORS_INVALID', 'trust.manifestJwks and trust.checkpointKey go together: pin both the manifest keys and the log key');
  let jwks: ManifestJwks;
  try {
    jwks = parseJwks(JSON.parse(await readFile(file, 'utf8')));
  } catch (err) {
    throw new TrustError('TRUST_ANCHORS_INVALID', `trust.manifestJwks ${file}: ${(err as Error).message}`, undefined, { cause: err });
  }
  try {
    noteVerifier(key);
  } catch (err) {
    throw new TrustError('TRUST_ANCHORS_INVALID', `trust.checkpointKey is not a signed-note verifier key (<origin>+<hex id>+<base64>): ${(err as Error).message}`, undefined, { cause: err });
  }
  return { jwks, checkpointKey: key };
}
