import { createHash } from 'node:crypto';
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  MAX_TRUST_FILE_BYTES, TRUST_MANIFEST_FILE, parseTrustManifest, type TrustBundleManifest, type TrustFileRole,
} from './bundle-format.js';
import { TrustBundleError } from './errors.js';
import { parseFingerprint, trustFingerprint } from './fingerprint.js';
import { validateTrustFile } from './validate-files.js';

/** A bundle read from a directory: every listed file checked against trust.json and against its role. */
export interface TrustBundle {
  readonly dir: string;
  readonly manifest: TrustBundleManifest;
  readonly fingerprint: string;
  /** The bytes of each listed file, by role. */
  readonly files: ReadonlyMap<TrustFileRole, Uint8Array>;
}

export interface ReadTrustBundleOptions {
  /**
   * The fingerprint announced out of band (any case, with or without hyphens). Compared before
   * anything else is checked, so a changed bundle is reported as not the announced one.
   */
  readonly expectedFingerprint?: string;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function readRegularFile(path: string, missingCode: 'TRUST_BUNDLE_MISSING' | 'TRUST_BUNDLE_INVALID'): Promise<Uint8Array> {
  const fail = (why: string, cause?: unknown): never => {
    throw new TrustBundleError(missingCode, `${path}: ${why}`, undefined, cause === undefined ? undefined : { cause });
  };
  const s = await lstat(path).catch((err: NodeJS.ErrnoException) => fail(err.code === 'ENOENT' ? 'no such file' : (err.code ?? err.message), err));
  if (!s.isFile()) fail('is not a regular file');
  if (s.size > MAX_TRUST_FILE_BYTES) throw new TrustBundleError('TRUST_BUNDLE_INVALID', `${path}: ${s.size} bytes, more than a trust bundle file may hold (${MAX_TRUST_FILE_BYTES})`);
  return readFile(path).catch((err: NodeJS.ErrnoException) => fail(err.code ?? err.message, err));
}

/**
 * Reads and checks the bundle in `dir`. The fingerprint is computed from the files as found (their
 * SHA-256 in place of the listed ones), so any changed byte changes it; then each file must match
 * the digest trust.json lists and parse as its role requires.
 */
export async function readTrustBundle(dir: string, options: ReadTrustBundleOptions = {}): Promise<TrustBundle> {
  const expected = options.expectedFingerprint === undefined ? undefined : parseFingerprint(options.expectedFingerprint);
  const manifestBytes = await readRegularFile(join(dir, TRUST_MANIFEST_FILE), 'TRUST_BUNDLE_MISSING');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(manifestBytes).toString('utf8'));
  } catch (err) {
    throw new TrustBundleError('TRUST_BUNDLE_INVALID', `${join(dir, TRUST_MANIFEST_FILE)} is not JSON: ${(err as Error).message}`, undefined, { cause: err });
  }
  const manifest = parseTrustManifest(parsed);
  const files = new Map<TrustFileRole, Uint8Array>();
  for (const entry of manifest.files) files.set(entry.role, await readRegularFile(join(dir, entry.name), 'TRUST_BUNDLE_INVALID'));

  const asFound: TrustBundleManifest = { ...manifest, files: manifest.files.map((e) => ({ ...e, sha256: sha256(files.get(e.role)!) })) };
  const fingerprint = trustFingerprint(asFound);
  if (expected !== undefined && fingerprint !== expected) {
    throw new TrustBundleError('TRUST_BUNDLE_FINGERPRINT_MISMATCH',
      `the bundle in ${dir} has fingerprint ${fingerprint}, not the announced ${expected}: it is not the bundle the coordinator's operator exported; nothing was pinned`,
      { expected, actual: fingerprint });
  }
  for (const [i, entry] of manifest.files.entries()) {
    if (asFound.files[i]!.sha256 !== entry.sha256) {
      throw new TrustBundleError('TRUST_BUNDLE_INVALID', `${join(dir, entry.name)} has SHA-256 ${asFound.files[i]!.sha256}, but ${TRUST_MANIFEST_FILE} lists ${entry.sha256}`);
    }
    validateTrustFile(entry.role, files.get(entry.role)!, manifest.coordinator);
  }
  return { dir, manifest, fingerprint, files };
}
