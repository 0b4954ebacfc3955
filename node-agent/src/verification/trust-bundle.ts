import { randomBytes } from 'node:crypto';
import { appendFile, lstat, mkdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseJwks, type ManifestJwks } from '@medfed/proto/manifest/index';
import {
  TRUST_BUNDLE_FILES, TRUST_MANIFEST_FILE, TrustBundleError, pemExpiries, readTrustBundle, type ExpiryOptions, type ExpiryStatus, type TrustBundle,
} from '@medfed/proto/trust/index';
import type { AgentConfig } from '../config/schema.js';
import { TrustError } from './errors.js';

/**
 * The consortium trust bundle pinned in the agent's state directory (docs/trust.md):
 *
 *   <stateDir>/trust/             0700
 *     v<N>/                       0700, one directory per imported version (older ones kept for audit)
 *       trust.json, manifest-jwks.json, token-jwks.json, checkpoint.vkey, ca.pem   0600
 *     current -> v<N>             the version in force, swapped atomically by an import
 *     imports.ndjson              0600, one line per import
 *
 * The agent uses the pinned anchors wherever its config sets none (trust.manifestJwks and
 * trust.checkpointKey; coordinator.tls.ca).
 */
export const TRUST_DIR = 'trust';
const CURRENT = 'current';
const IMPORTS_FILE = 'imports.ndjson';

export function pinnedTrustRoot(stateDir: string): string {
  return join(resolve(stateDir), TRUST_DIR);
}

/** The directory of the pinned version in force (through the `current` link). */
export function pinnedTrustDir(stateDir: string): string {
  return join(pinnedTrustRoot(stateDir), CURRENT);
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(() => true, (err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return false;
    throw new TrustError('TRUST_STATE_INVALID', `${path} cannot be read: ${err.code ?? err.message}`, undefined, { cause: err });
  });
}

/** The pinned bundle, re-checked file by file; null when this agent has none. */
export async function readPinnedTrust(stateDir: string): Promise<TrustBundle | null> {
  const dir = pinnedTrustDir(stateDir);
  if (!(await exists(dir))) return null;
  try {
    return await readTrustBundle(dir);
  } catch (err) {
    if (!(err instanceof TrustBundleError)) throw err;
    throw new TrustError('TRUST_ANCHORS_INVALID', `the pinned trust bundle ${dir} is damaged (${err.code}: ${err.message}); import the coordinator's bundle again (medfed agent trust import)`, undefined, { cause: err });
  }
}

/** The older versions kept beside the one in force, newest first. */
export async function previousTrustVersions(stateDir: string): Promise<{ version: number; fingerprint: string; at: string }[]> {
  const text = await readFile(join(pinnedTrustRoot(stateDir), IMPORTS_FILE), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  const records = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { version: number; fingerprint: string; at: string });
  const current = records.at(-1);
  return records.filter((r) => r.version !== current?.version).reverse();
}

export interface TrustImport {
  /** `pinned`: now in force; `unchanged`: this very bundle was already pinned. */
  readonly outcome: 'pinned' | 'unchanged';
  readonly bundle: TrustBundle;
  /** The version it replaced (null for the first import). */
  readonly previous: { readonly version: number; readonly fingerprint: string } | null;
  /** Where it is pinned. */
  readonly dir: string;
}

/**
 * Pins the bundle in `bundleDir` after checking it against the fingerprint the coordinator's operator
 * announced (TRUST_BUNDLE_FINGERPRINT_MISMATCH names both otherwise). A newer version replaces the
 * one in force, which stays on disk; an older version (TRUST_BUNDLE_VERSION_OLDER), or the same
 * version with other content (TRUST_BUNDLE_VERSION_REUSED), is refused. Nothing changes on a refusal.
 */
export async function importTrustBundle(stateDir: string, bundleDir: string, fingerprint: string, options: { by: string; now?: Date }): Promise<TrustImport> {
  const bundle = await readTrustBundle(bundleDir, { expectedFingerprint: fingerprint });
  const current = await readPinnedTrust(stateDir);
  const root = pinnedTrustRoot(stateDir);
  const version = bundle.manifest.version;
  if (current) {
    const pinned = current.manifest.version;
    if (version === pinned && bundle.fingerprint === current.fingerprint) return { outcome: 'unchanged', bundle, previous: null, dir: pinnedTrustDir(stateDir) };
    if (version < pinned) {
      throw new TrustBundleError('TRUST_BUNDLE_VERSION_OLDER', `the bundle is version ${version}, older than the pinned version ${pinned} (fingerprint ${current.fingerprint}); nothing was pinned`);
    }
    if (version === pinned) {
      throw new TrustBundleError('TRUST_BUNDLE_VERSION_REUSED', `the bundle is version ${version} like the pinned one, but its fingerprint is ${bundle.fingerprint}, not ${current.fingerprint}: a rotated bundle needs a new version; nothing was pinned`);
    }
  }
  await mkdir(resolve(stateDir), { recursive: true, mode: 0o700 });
  await mkdir(root, { recursive: true, mode: 0o700 });
  // The version's directory is written whole under a temporary name, then renamed into place and
  // made current by replacing the link: a crash leaves the previous version in force.
  const target = join(root, `v${version}`);
  const staging = join(root, `.v${version}-${randomBytes(4).toString('hex')}`);
  await mkdir(staging, { mode: 0o700 });
  try {
    await writeFile(join(staging, TRUST_MANIFEST_FILE), await readFile(join(bundleDir, TRUST_MANIFEST_FILE)), { mode: 0o600, flag: 'wx' });
    for (const [role, bytes] of bundle.files) await writeFile(join(staging, TRUST_BUNDLE_FILES[role].name), bytes, { mode: 0o600, flag: 'wx' });
    await readTrustBundle(staging, { expectedFingerprint: bundle.fingerprint });
    await rm(target, { recursive: true, force: true }); // a version a crash left unpinned
    await rename(staging, target);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
  const link = join(root, `.${CURRENT}-${randomBytes(4).toString('hex')}`);
  await symlink(`v${version}`, link);
  await rename(link, join(root, CURRENT));
  const previous = current ? { version: current.manifest.version, fingerprint: current.fingerprint } : null;
  const record = { at: (options.now ?? new Date()).toISOString(), version, fingerprint: bundle.fingerprint, previous, source: resolve(bundleDir), by: options.by };
  await appendFile(join(root, IMPORTS_FILE), `${JSON.stringify(record)}\n`, { mode: 0o600 });
  return { outcome: 'pinned', bundle, previous, dir: target };
}

/** The pinned version's files as agent settings: paths through the `current` link, the log key itself. */
async function pinnedAnchors(stateDir: string): Promise<{ manifestJwks: string; checkpointKey: string; ca: string | null } | null> {
  const dir = pinnedTrustDir(stateDir);
  if (!(await exists(dir))) return null;
  const target = await readlink(dir).catch(() => dir);
  const file = (role: keyof typeof TRUST_BUNDLE_FILES) => join(dir, TRUST_BUNDLE_FILES[role].name);
  let checkpointKey: string;
  try {
    checkpointKey = (await readFile(file('log-key'), 'utf8')).trim();
  } catch (err) {
    throw new TrustError('TRUST_ANCHORS_INVALID', `the pinned trust bundle ${dir} (${target}) has no readable ${TRUST_BUNDLE_FILES['log-key'].name}: import the coordinator's bundle again (medfed agent trust import)`, undefined, { cause: err });
  }
  return { manifestJwks: file('manifest-jwks'), checkpointKey, ca: (await exists(file('ca'))) ? file('ca') : null };
}

/**
 * The config with the pinned anchors filled in where it sets none: trust.manifestJwks and
 * trust.checkpointKey (only when neither is set), coordinator.tls.ca (when unset).
 */
export async function withPinnedTrust(config: AgentConfig): Promise<AgentConfig> {
  const pinned = await pinnedAnchors(config.stateDir);
  if (!pinned) return config;
  const ownAnchors = config.trust.manifestJwks !== undefined || config.trust.checkpointKey !== undefined;
  const trust = ownAnchors ? config.trust : { ...config.trust, manifestJwks: pinned.manifestJwks, checkpointKey: pinned.checkpointKey };
  const coordinator = config.coordinator.tls?.ca || !pinned.ca ? config.coordinator : { ...config.coordinator, tls: { ...config.coordinator.tls, ca: pinned.ca } };
  return { ...config, trust, coordinator };
}

/**
 * The anchors of a trust bundle directory, for offline verification (`medfed model verify --trust`,
 * `medfed audit verify --trust`): an exported bundle, an agent's pinned `trust/` directory (its
 * version in force) or one pinned version.
 */
export async function trustBundleAnchors(dir: string): Promise<{ jwks: ManifestJwks; checkpointKey: string; bundle: TrustBundle }> {
  const inForce = !(await exists(join(dir, TRUST_MANIFEST_FILE))) && (await exists(join(dir, CURRENT, TRUST_MANIFEST_FILE)));
  const bundle = await readTrustBundle(inForce ? join(dir, CURRENT) : dir);
  const text = (role: 'manifest-jwks' | 'log-key') => Buffer.from(bundle.files.get(role)!).toString('utf8');
  return { jwks: parseJwks(JSON.parse(text('manifest-jwks'))), checkpointKey: text('log-key').trim(), bundle };
}

/** When the certificates of a bundle's CA file expire (none for a bundle without a CA). */
export function trustBundleExpiries(bundle: TrustBundle, options: ExpiryOptions = {}): ExpiryStatus[] {
  const ca = bundle.files.get('ca');
  return ca ? pemExpiries('ca', ca, options) : [];
}

/**
 * Warnings for the coordinator CA the agent trusts (coordinator.tls.ca, pinned or configured), for
 * each certificate in it expired or expiring within the threshold. The agent's own credential is a
 * key pair without an expiry (rotated with RotateKey), so there is nothing else to watch.
 */
export async function coordinatorCaExpiries(caFile: string | undefined, options: ExpiryOptions = {}): Promise<ExpiryStatus[]> {
  if (!caFile) return [];
  const pem = await readFile(caFile).catch(() => null);
  if (!pem) return []; // an unreadable CA is reported where the channel is built (CONFIG_INVALID)
  try {
    return pemExpiries('coordinator-ca', pem, options);
  } catch {
    return [];
  }
}
