import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ManifestJwks } from '../manifest/jwks.js';
import { BundleError } from './errors.js';
import { BUNDLE_FILES } from './files.js';
import { inclusionProofToJson, type InclusionProof } from './inclusion-proof.js';

export interface ModelBundleParts {
  readonly model: Uint8Array;
  readonly manifestJws: string;
  /** Signed checkpoint note, with any witness cosignatures. */
  readonly checkpoint: string;
  readonly inclusionProof: InclusionProof;
  /** Every manifest key a verifier may need, retired ones included. */
  readonly jwks: ManifestJwks;
  /** `<name>+<hex key id>+<base64 key>` of the log. */
  readonly checkpointVerifierKey: string;
}

/**
 * Writes the offline bundle (model.bin, manifest.jws, checkpoint.txt, inclusion-proof.json,
 * jwks.json, checkpoint.vkey) into `dir`, creating it. Existing files are not overwritten unless
 * asked, so an export never silently replaces a bundle someone verified.
 */
export async function writeModelBundle(dir: string, parts: ModelBundleParts, options: { overwrite?: boolean } = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  const files: Array<[string, string | Uint8Array]> = [
    [BUNDLE_FILES.model, parts.model],
    [BUNDLE_FILES.manifest, `${parts.manifestJws}\n`],
    [BUNDLE_FILES.checkpoint, parts.checkpoint],
    [BUNDLE_FILES.inclusionProof, `${JSON.stringify(inclusionProofToJson(parts.inclusionProof), null, 2)}\n`],
    [BUNDLE_FILES.jwks, `${JSON.stringify(parts.jwks, null, 2)}\n`],
    [BUNDLE_FILES.checkpointKey, `${parts.checkpointVerifierKey}\n`],
  ];
  for (const [name, content] of files) {
    try {
      await writeFile(join(dir, name), content, { flag: options.overwrite ? 'w' : 'wx', mode: 0o644 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new BundleError('BUNDLE_EXISTS', `${join(dir, name)} already exists; choose an empty directory or pass overwrite`, undefined, { cause: err });
      }
      throw err;
    }
  }
}
