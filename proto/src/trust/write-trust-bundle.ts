import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  TRUST_BUNDLE_FILES, TRUST_BUNDLE_FORMAT, TRUST_FILE_ROLES, TRUST_MANIFEST_FILE, parseTrustManifest,
  type CoordinatorIdentity, type TrustBundleManifest, type TrustFileRole,
} from './bundle-format.js';
import { trustFingerprint } from './fingerprint.js';
import { validateTrustFile } from './validate-files.js';

export interface TrustBundleContents {
  readonly version: number;
  readonly createdAt: Date;
  readonly coordinator: CoordinatorIdentity;
  /** The files by role (`ca` may be left out for a plain-HTTP development coordinator). */
  readonly files: Partial<Record<TrustFileRole, string | Uint8Array>>;
}

/**
 * Writes a bundle into `dir` (created if needed): each file, then trust.json last, each through a
 * temporary file and a rename. Files of an earlier bundle in `dir` that this one does not hold are
 * removed. Every file is checked as an importer checks it before anything is written. Returns the
 * manifest and its fingerprint.
 */
export async function writeTrustBundle(dir: string, contents: TrustBundleContents): Promise<{ manifest: TrustBundleManifest; fingerprint: string }> {
  const roles = TRUST_FILE_ROLES.filter((r) => contents.files[r] !== undefined);
  const bytes = new Map(roles.map((r) => [r, typeof contents.files[r] === 'string' ? Buffer.from(contents.files[r]) : contents.files[r]!] as const));
  const manifest = parseTrustManifest({
    format: TRUST_BUNDLE_FORMAT,
    version: contents.version,
    createdAt: contents.createdAt.toISOString(),
    coordinator: contents.coordinator,
    files: roles.map((role) => ({ role, name: TRUST_BUNDLE_FILES[role].name, sha256: createHash('sha256').update(bytes.get(role)!).digest('hex') })),
  });
  for (const role of roles) validateTrustFile(role, bytes.get(role)!, manifest.coordinator);

  await mkdir(dir, { recursive: true, mode: 0o755 });
  const put = async (name: string, content: Uint8Array | string) => {
    const tmp = join(dir, `.${name}.${randomBytes(4).toString('hex')}.tmp`);
    await writeFile(tmp, content, { mode: 0o644, flag: 'wx' });
    await rename(tmp, join(dir, name));
  };
  for (const role of roles) await put(TRUST_BUNDLE_FILES[role].name, bytes.get(role)!);
  const listed = new Set<string>(roles.map((r) => TRUST_BUNDLE_FILES[r].name));
  const stale = (await readdir(dir)).filter((n) => !listed.has(n) && TRUST_FILE_ROLES.some((r) => TRUST_BUNDLE_FILES[r].name === n));
  for (const name of stale) await rm(join(dir, name), { force: true });
  await put(TRUST_MANIFEST_FILE, `${JSON.stringify(manifest, null, 2)}\n`);
  return { manifest, fingerprint: trustFingerprint(manifest) };
}
