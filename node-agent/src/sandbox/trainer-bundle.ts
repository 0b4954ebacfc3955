import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, readdir, readlink, realpath, rename, rm, stat, symlink } from 'node:fs/promises';
import { dirname, join, posix, relative, sep } from 'node:path';
import { trainerBuildDigest, trainerBundleListing, type TrainerBundleEntry } from '@medfed/proto/attestation/index';
import { SandboxError } from './errors.js';

/** A staged, read-only copy of exactly the files the trainer loads, and its measurement. */
export interface TrainerBundle {
  /** Host directory of the staged copy (bound read-only into the sandbox). */
  readonly dir: string;
  /** Staged files and symlinks plus the runtime binaries (`runtime/node`, `runtime/prlimit`). */
  readonly entries: readonly TrainerBundleEntry[];
  /** The trainer build digest (see trainerBuildDigest in @medfed/proto). */
  readonly digest: string;
  readonly listing: string;
}

/** Digests of files already read by this process, keyed by identity and change time, so a restaged bundle does not re-read the 100 MB runtime. */
const digestCache = new Map<string, string>();

export async function sha256File(path: string): Promise<string> {
  const s = await stat(path);
  const key = `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
  const known = digestCache.get(key);
  if (known !== undefined) return known;
  const digest = await new Promise<string>((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path).on('error', reject).on('data', (c) => hash.update(c)).on('end', () => resolve(hash.digest('hex')));
  });
  digestCache.set(key, digest);
  return digest;
}

const toPosix = (p: string): string => p.split(sep).join(posix.sep);

/**
 * Completes a trace into the file set to stage: every traced file under `root`; each package.json
 * between a traced file and `root` (Node.js reads them to resolve packages and module types); every
 * .wasm next to a traced one (the backend picks a variant by CPU features); and each symlink in
 * node_modules (workspace packages such as @medfed/proto) that leads to a traced file.
 */
export async function bundleFileSet(root: string, traced: readonly string[]): Promise<{ files: string[]; symlinks: { path: string; target: string }[] }> {
  const realRoot = await realpath(root);
  const files = new Set<string>();
  for (const file of traced) {
    const rel = toPosix(relative(realRoot, file));
    if (rel.startsWith('..') || rel === '' || posix.isAbsolute(rel)) continue;
    files.add(rel);
    for (let dir = posix.dirname(rel); ; dir = posix.dirname(dir)) {
      const pkg = dir === '.' ? 'package.json' : `${dir}/package.json`;
      if (await isFile(join(realRoot, pkg))) files.add(pkg);
      if (dir === '.') break;
    }
    if (rel.endsWith('.wasm')) {
      const dir = posix.dirname(rel);
      for (const name of await readdir(join(realRoot, dir))) if (name.endsWith('.wasm')) files.add(`${dir}/${name}`);
    }
  }
  const symlinks: { path: string; target: string }[] = [];
  for (const link of await nodeModulesSymlinks(realRoot)) {
    const target = toPosix(relative(realRoot, await realpath(join(realRoot, link.path))));
    if ([...files].some((f) => f.startsWith(`${target}/`))) symlinks.push(link);
  }
  return { files: [...files].sort(), symlinks };
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() === true;
}

async function nodeModulesSymlinks(root: string): Promise<{ path: string; target: string }[]> {
  const out: { path: string; target: string }[] = [];
  const scan = async (dir: string) => {
    for (const entry of await readdir(join(root, dir), { withFileTypes: true }).catch(() => [])) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isSymbolicLink()) out.push({ path: rel, target: await readlink(join(root, rel)) });
      else if (entry.isDirectory() && entry.name.startsWith('@') && dir === 'node_modules') await scan(rel);
    }
  };
  await scan('node_modules');
  return out;
}

/**
 * Copies the file set into `<stageRoot>/<digest>` (files 0444, directories 0555) and returns the
 * bundle. An existing staged copy is re-measured and reused only if it still matches; one that was
 * modified is refused, never silently replaced.
 */
export async function stageTrainerBundle(options: {
  root: string;
  files: readonly string[];
  symlinks: readonly { path: string; target: string }[];
  extraFiles?: readonly { src: string; path: string }[];
  runtime: readonly { path: string; binary: string }[];
  stageRoot: string;
}): Promise<TrainerBundle> {
  const sources = new Map<string, string>(options.files.map((f) => [f, join(options.root, f)]));
  for (const extra of options.extraFiles ?? []) sources.set(extra.path, extra.src);
  const entries: TrainerBundleEntry[] = [];
  for (const [path, src] of sources) entries.push({ path, sha256: await sha256File(src) });
  for (const link of options.symlinks) entries.push({ path: link.path, symlink: link.target });
  const runtime: TrainerBundleEntry[] = [];
  for (const r of options.runtime) runtime.push({ path: r.path, sha256: await sha256File(r.binary) });
  const digest = trainerBuildDigest([...entries, ...runtime]);
  const listing = trainerBundleListing([...entries, ...runtime]);
  const codeDigest = trainerBuildDigest(entries);

  await ensureOwnDirectory(options.stageRoot);
  const dir = join(options.stageRoot, codeDigest);
  if (await stat(dir).catch(() => undefined)) {
    const found = await measureDirectory(dir);
    if (trainerBuildDigest(found) !== codeDigest) {
      throw new SandboxError('SANDBOX_BUNDLE_INVALID', `the staged trainer bundle ${dir} no longer matches its digest: it was modified. Remove it (chmod -R u+w ${dir} && rm -r ${dir}) and restart the agent`);
    }
    return { dir, entries: [...entries, ...runtime], digest, listing };
  }
  const tmp = `${dir}.staging-${process.pid}-${Date.now()}`;
  try {
    for (const [path, src] of sources) {
      await mkdir(dirname(join(tmp, path)), { recursive: true });
      await copyFile(src, join(tmp, path));
      await chmod(join(tmp, path), 0o444);
    }
    for (const link of options.symlinks) {
      await mkdir(dirname(join(tmp, link.path)), { recursive: true });
      await symlink(link.target, join(tmp, link.path));
    }
    await sealDirectories(tmp);
    await rename(tmp, dir);
  } catch (err) {
    await unseal(tmp).catch(() => undefined);
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (err as NodeJS.ErrnoException).code === 'EEXIST') {
      return stageTrainerBundle(options); // another agent process staged the same bundle first
    }
    throw new SandboxError('SANDBOX_BUNDLE_INVALID', `cannot stage the trainer bundle in ${options.stageRoot}: ${(err as Error).message}`, undefined, { cause: err });
  }
  return { dir, entries: [...entries, ...runtime], digest, listing };
}

/**
 * The stage root must be a real directory of the agent's user, not writable by others, and
 * traversable by the sandbox user (a root agent starts the sandbox as nobody): mode 0755.
 */
async function ensureOwnDirectory(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o755 });
  let s = await lstat(path);
  const uid = typeof process.getuid === 'function' ? process.getuid() : s.uid;
  if (s.isDirectory() && s.uid === uid && (s.mode & 0o777) !== 0o755) {
    await chmod(path, 0o755);
    s = await lstat(path);
  }
  if (!s.isDirectory() || s.uid !== uid || (s.mode & 0o022) !== 0) {
    throw new SandboxError('SANDBOX_BUNDLE_INVALID', `trainer stage directory ${path} must be a directory owned by uid ${uid} and not writable by others (it is ${s.isDirectory() ? `mode ${(s.mode & 0o777).toString(8)}, uid ${s.uid}` : 'not a directory'})`);
  }
}

export async function measureDirectory(dir: string): Promise<TrainerBundleEntry[]> {
  const out: TrainerBundleEntry[] = [];
  const walk = async (rel: string) => {
    for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isSymbolicLink()) out.push({ path, symlink: await readlink(join(dir, path)) });
      else if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) out.push({ path, sha256: await sha256File(join(dir, path)) });
      else throw new SandboxError('SANDBOX_BUNDLE_INVALID', `${join(dir, path)} is neither a file, a directory nor a symlink`);
    }
  };
  await walk('');
  return out;
}

async function sealDirectories(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) if (entry.isDirectory()) await sealDirectories(join(dir, entry.name));
  await chmod(dir, 0o555);
}

async function unseal(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) if (entry.isDirectory()) await unseal(join(dir, entry.name));
}
