import { readFile } from 'node:fs/promises';
import { parseJwks, type ManifestJwks } from '@medfed/proto/manifest/index';
import { NOTE_KEY_TYPE, noteVerifier } from '@medfed/proto/tlog/index';
import { TrustError } from './errors.js';

/** What the agent trusts: the coordinator's manifest keys and the log's checkpoint key, pinned in its config. */
export interface TrustAnchors {
  readonly jwks: ManifestJwks;
  /** `<origin>+<hex key id>+<base64 key>` of the log. */
  readonly checkpointKey: string;
  /** Other sites' witness verifier keys and how many of them must have cosigned a checkpoint (0: none). */
  readonly witnesses: { readonly keys: readonly string[]; readonly required: number };
}

export interface TrustSettings {
  /** Path of the coordinator's manifest JWKS (retired keys included). */
  readonly manifestJwks?: string | undefined;
  /** The log's checkpoint verifier key itself. */
  readonly checkpointKey?: string | undefined;
  /** k: cosignatures by distinct `witnessKeys` a checkpoint must carry before its models load (default 0). */
  readonly requiredCosignatures?: number | undefined;
  /** Witness verifier keys (signed-note type 0x04) of the other sites, pinned like the manifest keys. */
  readonly witnessKeys?: readonly string[] | undefined;
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
  return { jwks, checkpointKey: key, witnesses: witnessPolicy(settings!) };
}

/** The cosignature requirement: k distinct, parseable cosignature keys at least; refused at start otherwise. */
function witnessPolicy(settings: TrustSettings): TrustAnchors['witnesses'] {
  const required = settings.requiredCosignatures ?? 0;
  const keys = [...new Set((settings.witnessKeys ?? []).map((k) => k.trim()).filter(Boolean))];
  for (const k of keys) {
    let type: number;
    try {
      type = noteVerifier(k).type;
    } catch (err) {
      throw new TrustError('TRUST_ANCHORS_INVALID', `trust.witnessKeys: ${JSON.stringify(k.slice(0, 80))} is not a signed-note verifier key: ${(err as Error).message}`, undefined, { cause: err });
    }
    if (type !== NOTE_KEY_TYPE.COSIGNATURE_V1) throw new TrustError('TRUST_ANCHORS_INVALID', `trust.witnessKeys: ${k.split('+')[0]} is not a witness (cosignature/v1, type 0x04) key`);
  }
  if (!Number.isSafeInteger(required) || required < 0 || required > keys.length) {
    throw new TrustError('TRUST_ANCHORS_INVALID', `trust.requiredCosignatures is ${required} but only ${keys.length} distinct trust.witnessKeys are pinned`);
  }
  return { keys, required };
}
