import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ManifestJwks } from '../manifest/jwks.js';
import { fromUtf8 } from '../tlog/encoding.js';
import { BundleError } from './errors.js';
import { BUNDLE_FILES, MAX_BUNDLE_TEXT_BYTES, MAX_MODEL_BYTES } from './files.js';
import { parseInclusionProof } from './inclusion-proof.js';
import { verifyModelArtifact, type ExpectedArtifact, type VerifiedModelArtifact } from './verify-model-artifact.js';

export interface VerifyModelBundleOptions {
  readonly expected: ExpectedArtifact;
  /**
   * Pinned trust anchors. A bundle's own jwks.json and checkpoint.vkey only prove that the bundle
   * is self-consistent: whoever can rewrite the bundle can rewrite them. Pin them in production.
   */
  readonly trustedKeys?: ManifestJwks;
  readonly checkpointVerifierKey?: string;
  readonly witnessKeys?: readonly string[];
  readonly requiredCosignatures?: number;
  readonly previousCheckpoint?: string;
  readonly consistencyProof?: readonly (Uint8Array | string)[];
  readonly now?: number;
}

export interface VerifiedModelBundle extends VerifiedModelArtifact {
  /** The verified model bytes: load these, not a second read of model.bin. */
  readonly bytes: Uint8Array;
  /** Where the manifest keys and the log key came from. */
  readonly anchors: { readonly manifestKeys: 'pinned' | 'bundle'; readonly logKey: 'pinned' | 'bundle' };
  /** SHA-256 (hex) of the bundle's jwks.json and checkpoint.vkey, for comparison with published values. */
  readonly anchorDigests: { readonly jwks: string; readonly checkpointKey: string };
}

/** Reads a bundle directory and verifies it with verifyModelArtifact; returns the bytes that passed. */
export async function verifyModelBundle(dir: string, options: VerifyModelBundleOptions): Promise<VerifiedModelBundle> {
  const bytes = await readBundleFile(dir, BUNDLE_FILES.model, MAX_MODEL_BYTES);
  const manifestJws = await readText(dir, BUNDLE_FILES.manifest);
  const checkpoint = await readText(dir, BUNDLE_FILES.checkpoint);
  const inclusionProof = parseInclusionProof(parseJson(await readText(dir, BUNDLE_FILES.inclusionProof), BUNDLE_FILES.inclusionProof));
  const jwksText = await readText(dir, BUNDLE_FILES.jwks);
  const vkeyText = await readText(dir, BUNDLE_FILES.checkpointKey);
  const bundleJwks = parseJson(jwksText, BUNDLE_FILES.jwks) as ManifestJwks;

  const verified = await verifyModelArtifact({
    bytes,
    manifestJws: manifestJws.trim(),
    checkpoint,
    inclusionProof,
    trustedKeys: options.trustedKeys ?? bundleJwks,
    checkpointVerifierKey: options.checkpointVerifierKey ?? vkeyText.trim(),
    expected: options.expected,
    ...(options.witnessKeys ? { witnessKeys: options.witnessKeys } : {}),
    ...(options.requiredCosignatures !== undefined ? { requiredCosignatures: options.requiredCosignatures } : {}),
    ...(options.previousCheckpoint !== undefined ? { previousCheckpoint: options.previousCheckpoint } : {}),
    ...(options.consistencyProof ? { consistencyProof: options.consistencyProof } : {}),
    ...(options.now !== undefined ? { now: options.now } : {}),
  });
  return {
    ...verified,
    bytes,
    anchors: { manifestKeys: options.trustedKeys ? 'pinned' : 'bundle', logKey: options.checkpointVerifierKey ? 'pinned' : 'bundle' },
    anchorDigests: { jwks: sha256(jwksText), checkpointKey: sha256(vkeyText.trim()) },
  };
}

async function readBundleFile(dir: string, name: string, limit: number): Promise<Uint8Array> {
  const path = join(dir, name);
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new Error('not a regular file');
    size = s.size;
  } catch (err) {
    throw new BundleError('BUNDLE_FILE_MISSING', `the bundle has no readable ${name} (${path})`, { file: name }, { cause: err });
  }
  if (size > limit) throw new BundleError('BUNDLE_FILE_TOO_LARGE', `${name} is ${size} bytes; at most ${limit} are accepted`, { file: name });
  return readFile(path);
}

async function readText(dir: string, name: string): Promise<string> {
  const text = fromUtf8(await readBundleFile(dir, name, MAX_BUNDLE_TEXT_BYTES));
  if (text === undefined) throw new BundleError('BUNDLE_MALFORMED', `${name} is not UTF-8 text`, { file: name });
  return text;
}

function parseJson(text: string, name: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BundleError('BUNDLE_MALFORMED', `${name} is not JSON: ${(err as Error).message}`, { file: name }, { cause: err });
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
