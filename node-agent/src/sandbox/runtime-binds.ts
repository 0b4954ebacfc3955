import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dedupeMounts, sameHostPathOps, type MountOp } from './mounts.js';

/** Where the runtime appears inside the sandbox; fixed, so policies compare across hosts. */
export const SANDBOX_PATHS = {
  node: '/opt/medfed/runtime/node',
  prlimit: '/opt/medfed/runtime/prlimit',
  trainer: '/opt/medfed/trainer',
  scratch: '/scratch',
} as const;

/** System library directories bound when `ldd` cannot tell which libraries a binary needs. */
const FALLBACK_LIBRARY_DIRS = ['/lib', '/lib64', '/usr/lib', '/usr/lib64'];

/**
 * The shared libraries `binary` loads, as absolute paths (the dynamic loader included), from `ldd`.
 * Returns undefined when ldd is missing or fails, and [] for a static binary.
 */
export function sharedLibraries(binary: string): string[] | undefined {
  let out: string;
  try {
    out = execFileSync('ldd', [binary], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  } catch (err) {
    const text = `${(err as { stdout?: string }).stdout ?? ''}${(err as { stderr?: string }).stderr ?? ''}`;
    return /not a dynamic executable|statically linked/.test(text) ? [] : undefined;
  }
  const paths = new Set<string>();
  for (const line of out.split('\n')) {
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
    const match = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    if (match) paths.add(match[1]!);
  }
  return [...paths].sort();
}

/**
 * Read-only mounts for the Node.js runtime and prlimit: both binaries at fixed sandbox paths,
 * each library they load at its own path (symlinks recreated), and the loader cache. Nothing else
 * of /usr, /etc or /lib is visible.
 */
export function runtimeMounts(nodeBinary: string, prlimitBinary: string): MountOp[] {
  const ops: MountOp[] = [];
  const libraries = [nodeBinary, prlimitBinary].map(sharedLibraries);
  if (libraries.some((l) => l === undefined)) {
    for (const dir of FALLBACK_LIBRARY_DIRS) if (existsSync(dir)) ops.push(...sameHostPathOps(dir));
  } else {
    for (const lib of libraries.flat() as string[]) ops.push(...sameHostPathOps(lib));
  }
  if (existsSync('/etc/ld.so.cache')) ops.push(...sameHostPathOps('/etc/ld.so.cache'));
  ops.push({ op: 'ro-bind', src: realpathSync(nodeBinary), dest: SANDBOX_PATHS.node });
  ops.push({ op: 'ro-bind', src: realpathSync(prlimitBinary), dest: SANDBOX_PATHS.prlimit });
  return dedupeMounts(ops);
}

/** The first executable `name` on PATH or in the usual system directories. */
export function findExecutable(name: string, extraDirs: readonly string[] = ['/usr/bin', '/bin', '/usr/sbin', '/sbin']): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':').filter((d) => d.length > 0), ...extraDirs];
  for (const dir of dirs) {
    const candidate = `${dir}/${name}`;
    if (existsSync(candidate)) return realpathSync(candidate);
  }
  return undefined;
}
