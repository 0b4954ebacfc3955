import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { bwrapArguments, classifyExit, type SandboxPolicy } from '../../src/sandbox/index.js';
import { sameHostPathOps } from '../../src/sandbox/mounts.js';
import { DEFAULT_LIMITS } from '../../src/sandbox/limits.js';

describe('classifyExit', () => {
  const cases: [string, { code: number | null; signal: number | null; stderrTail: string }, string][] = [
    ['SIGSYS from seccomp', { code: null, signal: 31, stderrTail: '' }, 'network'],
    ['SIGXCPU', { code: null, signal: 24, stderrTail: '' }, 'cpu'],
    ['SIGXFSZ', { code: null, signal: 25, stderrTail: '' }, 'write'],
    ['V8 heap exhaustion', { code: null, signal: 6, stderrTail: 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory' }, 'memory'],
    ['an ArrayBuffer refused by RLIMIT_DATA', { code: 1, signal: null, stderrTail: 'RangeError: Array buffer allocation failed' }, 'memory'],
    ['spawn EAGAIN', { code: 1, signal: null, stderrTail: 'Error: spawn /opt/medfed/runtime/node EAGAIN' }, 'fork'],
    ['EROFS', { code: 1, signal: null, stderrTail: "Error: EROFS: read-only file system, open '/opt/medfed/trainer/x'" }, 'write'],
    ['an uncaught permission denial of a read', { code: 1, signal: null, stderrTail: "code: 'ERR_ACCESS_DENIED',\n  permission: 'FileSystemRead'" }, 'read'],
    ['anything else', { code: 3, signal: null, stderrTail: 'TypeError: x is not a function' }, 'exit'],
  ];
  it.each(cases)('reads %s as its kind', (_what, exit, kind) => {
    const breach = classifyExit(exit);
    expect(breach).toMatchObject({ kind, fatal: true });
    expect(breach.detail.length).toBeGreaterThan(10);
  });
});

describe('mounts', () => {
  it('recreates every symlink on the way to a library and binds only the real file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'medfed-mounts-'));
    try {
      await mkdir(join(dir, 'usr/lib/multiarch'), { recursive: true });
      await writeFile(join(dir, 'usr/lib/multiarch/libx.so.1.2.3'), 'elf');
      await symlink('libx.so.1.2.3', join(dir, 'usr/lib/multiarch/libx.so.1'));
      await symlink('usr/lib', join(dir, 'lib'));
      expect(sameHostPathOps(join(dir, 'lib/multiarch/libx.so.1'))).toEqual([
        { op: 'symlink', target: 'usr/lib', dest: join(dir, 'lib') },
        { op: 'symlink', target: 'libx.so.1.2.3', dest: join(dir, 'usr/lib/multiarch/libx.so.1') },
        { op: 'ro-bind', src: join(dir, 'usr/lib/multiarch/libx.so.1.2.3'), dest: join(dir, 'usr/lib/multiarch/libx.so.1.2.3') },
      ]);
      expect(() => sameHostPathOps(join(dir, 'missing.so'))).toThrow(/not accessible/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('turns a policy into bubblewrap arguments in order, command last', () => {
    const policy: SandboxPolicy = {
      v: 1, engine: 'bubblewrap', namespaces: ['user', 'net'], options: ['die-with-parent', 'clearenv', 'chdir=/scratch'],
      mounts: [
        { op: 'ro-bind', src: '/host/node', dest: '/opt/medfed/runtime/node' },
        { op: 'symlink', target: 'usr/lib', dest: '/lib' },
        { op: 'tmpfs', dest: '/scratch', sizeBytes: 1024, mode: '0700' },
        { op: 'remount-ro', dest: '/' },
      ],
      seccomp: null, limits: DEFAULT_LIMITS, command: ['/opt/medfed/runtime/node', 'main.js'], env: { HOME: '/scratch' }, runAs: null,
    };
    expect(bwrapArguments(policy, { status: 3, seccomp: 4 })).toEqual([
      '--unshare-user', '--unshare-net', '--die-with-parent', '--clearenv', '--chdir', '/scratch', '--setenv', 'HOME', '/scratch',
      '--ro-bind', '/host/node', '/opt/medfed/runtime/node', '--symlink', 'usr/lib', '/lib',
      '--size', '1024', '--perms', '0700', '--tmpfs', '/scratch', '--remount-ro', '/',
      '--json-status-fd', '3', '--seccomp', '4', '--', '/opt/medfed/runtime/node', 'main.js',
    ]);
  });
});
