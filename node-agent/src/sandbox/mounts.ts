import { lstatSync, readlinkSync } from 'node:fs';
import { posix } from 'node:path';
import { SandboxError } from './errors.js';

/** One filesystem operation of the sandbox, applied in order by bubblewrap. */
export type MountOp =
  | { readonly op: 'ro-bind'; readonly src: string; readonly dest: string }
  | { readonly op: 'symlink'; readonly target: string; readonly dest: string }
  | { readonly op: 'tmpfs'; readonly dest: string; readonly sizeBytes: number; readonly mode: string }
  | { readonly op: 'proc'; readonly dest: string }
  | { readonly op: 'dev'; readonly dest: string }
  | { readonly op: 'remount-ro'; readonly dest: string };

const MAX_SYMLINK_DEPTH = 40;

/**
 * The operations that make host path `path` visible at the same path inside the sandbox: every
 * symlink on the way (e.g. /lib -> usr/lib, libfoo.so.1 -> libfoo.so.1.2) is recreated as a symlink
 * and only the final real file or directory is bound read-only. Binding the resolved path alone
 * would lose the names the dynamic loader looks for.
 */
export function sameHostPathOps(path: string): MountOp[] {
  const ops: MountOp[] = [];
  const real = walk(posix.resolve(path), ops, 0);
  ops.push({ op: 'ro-bind', src: real, dest: real });
  return ops;
}

function walk(path: string, ops: MountOp[], depth: number): string {
  if (depth > MAX_SYMLINK_DEPTH) throw new SandboxError('SANDBOX_POLICY_INVALID', `too many levels of symbolic links resolving ${path}`);
  let current = '/';
  for (const part of path.split('/').filter((p) => p.length > 0)) {
    const next = posix.join(current, part);
    let stats;
    try {
      stats = lstatSync(next);
    } catch (err) {
      throw new SandboxError('SANDBOX_POLICY_INVALID', `cannot bind ${path} into the sandbox: ${next} is not accessible (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (stats.isSymbolicLink()) {
      const target = readlinkSync(next);
      ops.push({ op: 'symlink', target, dest: next });
      current = walk(posix.resolve(current, target), ops, depth + 1);
    } else {
      current = next;
    }
  }
  return current;
}

/** Drops repeated operations on the same destination (the first wins) and keeps the order. */
export function dedupeMounts(ops: readonly MountOp[]): MountOp[] {
  const seen = new Set<string>();
  const out: MountOp[] = [];
  for (const op of ops) {
    const key = `${op.op}:${op.dest}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(op);
  }
  return out;
}
