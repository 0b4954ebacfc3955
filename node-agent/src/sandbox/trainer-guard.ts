/**
 * Preloaded into every trainer (`node --import`), before the trainer's own code. It makes denied
 * file, process and thread operations *visible*: when one fails with a permission-model denial
 * (ERR_ACCESS_DENIED), a read-only file system (EROFS) or EACCES/EPERM, or a spawn hits the process
 * limit (EAGAIN), the guard reports a `violation` frame on the channel and kills the trainer before
 * the trainer can catch the error and carry on. It does not enforce anything itself (the kernel and
 * the permission model do) and code that reaches the system other than through these modules
 * bypasses it: it is detection, in depth.
 */
import childProcess from 'node:child_process';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import workerThreads from 'node:worker_threads';
import { encodeFrame } from './protocol/frames.js';

const writeSync = fs.writeSync;
const kill = process.kill.bind(process);
const pid = process.pid;
const stderrWrite = process.stderr.write.bind(process.stderr);

// stdout carries frames only; console output of the trainer and its libraries goes to stderr.
process.stdout.write = stderrWrite as typeof process.stdout.write;

const WRITE_OPS = /^(write|append|mkdir|mkdtemp|rm|unlink|rename|copy|cp|symlink|link|chmod|lchmod|fchmod|chown|lchown|fchown|utimes|lutimes|futimes|truncate|ftruncate|createWriteStream)/i;
const PERMISSION_KINDS: Record<string, 'read' | 'write' | 'fork' | 'exit'> = {
  FileSystemRead: 'read',
  FileSystemWrite: 'write',
  ChildProcess: 'fork',
  WorkerThreads: 'fork',
  Addon: 'exit',
  WASI: 'exit',
  Inspector: 'exit',
};

function violation(err: unknown, op: string): { kind: string; detail: string } | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; permission?: unknown; resource?: unknown; path?: unknown; syscall?: unknown };
  const target = typeof e.resource === 'string' ? e.resource : typeof e.path === 'string' ? e.path : '';
  if (e.code === 'ERR_ACCESS_DENIED') {
    const kind = PERMISSION_KINDS[String(e.permission)] ?? 'exit';
    return { kind, detail: `${op} denied by the permission model (${String(e.permission)}) ${target}`.trim() };
  }
  if (e.code === 'EROFS') return { kind: 'write', detail: `${op} on the read-only file system ${target}`.trim() };
  if ((e.code === 'EACCES' || e.code === 'EPERM') && op.startsWith('fs.')) {
    return { kind: WRITE_OPS.test(op.slice(3)) ? 'write' : 'read', detail: `${op} ${String(e.code)} ${target}`.trim() };
  }
  if (e.code === 'EAGAIN' && op.startsWith('child_process.')) return { kind: 'fork', detail: `${op} hit the process limit (EAGAIN)` };
  return undefined;
}

function inspect(err: unknown, op: string): void {
  const found = violation(err, op);
  if (found === undefined) return;
  try {
    const frame = encodeFrame({ type: 'violation', ...found });
    for (let at = 0; at < frame.length;) at += writeSync(1, frame, at, frame.length - at);
  } finally {
    kill(pid, 'SIGKILL');
  }
}

function wrapFunction<F extends (...args: unknown[]) => unknown>(fn: F, op: string): F {
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback === 'function') {
      args[last] = function (this: unknown, err: unknown, ...rest: unknown[]) {
        inspect(err, op);
        return (callback as (...a: unknown[]) => unknown).call(this, err, ...rest);
      };
    }
    let result: unknown;
    try {
      result = fn.apply(this, args);
    } catch (err) {
      inspect(err, op);
      throw err;
    }
    if (result !== null && typeof result === 'object') {
      const r = result as { then?: unknown; on?: unknown };
      if (typeof r.then === 'function') (result as Promise<unknown>).then(undefined, (err: unknown) => inspect(err, op));
      else if (typeof r.on === 'function' && op.startsWith('child_process.')) (result as NodeJS.EventEmitter).on('error', (err: unknown) => inspect(err, op));
    }
    return result;
  };
  // Keep static members such as realpathSync.native and util.promisify.custom.
  for (const key of Reflect.ownKeys(fn)) {
    if (key === 'length' || key === 'name' || key === 'prototype') continue;
    Object.defineProperty(wrapped, key, Object.getOwnPropertyDescriptor(fn, key)!);
  }
  Object.defineProperty(wrapped, 'name', { value: fn.name });
  return wrapped as unknown as F;
}

/** Wraps every plain function of a module object (not classes, which start with a capital). */
function wrapModule(target: Record<string, unknown>, prefix: string): void {
  for (const name of Object.keys(target)) {
    const descriptor = Object.getOwnPropertyDescriptor(target, name);
    if (!descriptor || !('value' in descriptor) || typeof descriptor.value !== 'function' || /^[A-Z]/.test(name) || !descriptor.writable) continue;
    target[name] = wrapFunction(descriptor.value as (...args: unknown[]) => unknown, `${prefix}.${name}`);
  }
}

wrapModule(fs as unknown as Record<string, unknown>, 'fs');
wrapModule(fs.promises as unknown as Record<string, unknown>, 'fs');
wrapModule(childProcess as unknown as Record<string, unknown>, 'child_process');
const OriginalWorker = workerThreads.Worker;
(workerThreads as { Worker: unknown }).Worker = new Proxy(OriginalWorker, {
  construct(target, args, newTarget) {
    try {
      return Reflect.construct(target, args, newTarget) as object;
    } catch (err) {
      inspect(err, 'worker_threads.Worker');
      throw err;
    }
  },
});
// ESM named imports (`import { writeFileSync } from 'node:fs'`) see the wrapped functions too.
syncBuiltinESMExports();
