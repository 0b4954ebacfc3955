/** The offline model bundle: one directory, exactly these files. */
export const BUNDLE_FILES = {
  model: 'model.bin',
  manifest: 'manifest.jws',
  checkpoint: 'checkpoint.txt',
  inclusionProof: 'inclusion-proof.json',
  jwks: 'jwks.json',
  checkpointKey: 'checkpoint.vkey',
} as const;

/** Everything but the model is small; a larger file is refused before it is read. */
export const MAX_BUNDLE_TEXT_BYTES = 1 << 20;
/** Node reads at most 2 GiB into one buffer; the model is hashed from the buffer that will be loaded. */
export const MAX_MODEL_BYTES = 2 ** 31 - 1;
