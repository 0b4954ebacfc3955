import { describe, expect, it } from '@jest/globals';
import { buildSeccompFilter, REFUSED_SYSCALLS } from '../../src/sandbox/index.js';
import { SECCOMP_ARCHES, type SeccompArch } from '../../src/sandbox/seccomp/syscalls.js';

/**
 * A classic-BPF interpreter for exactly the instructions a seccomp filter may use here (ld abs,
 * jeq/jge/jset with constants, ret), run over a little-endian struct seccomp_data: it checks the
 * assembled bytes, not the builder's intentions.
 */
function evaluate(program: Buffer, data: { arch: number; nr: number; args?: number[] }): number {
  const mem = Buffer.alloc(64);
  mem.writeUInt32LE(data.nr >>> 0, 0);
  mem.writeUInt32LE(data.arch >>> 0, 4);
  (data.args ?? []).forEach((a, i) => mem.writeUInt32LE(a >>> 0, 16 + 8 * i));
  let acc = 0;
  for (let pc = 0; pc < program.length / 8;) {
    const code = program.readUInt16LE(pc * 8);
    const jt = program.readUInt8(pc * 8 + 2);
    const jf = program.readUInt8(pc * 8 + 3);
    const k = program.readUInt32LE(pc * 8 + 4);
    switch (code) {
      case 0x20: acc = mem.readUInt32LE(k); pc += 1; break;
      case 0x15: pc += 1 + (acc === k ? jt : jf); break;
      case 0x35: pc += 1 + (acc >= k ? jt : jf); break;
      case 0x45: pc += 1 + ((acc & k) !== 0 ? jt : jf); break;
      case 0x06: return k;
      default: throw new Error(`unexpected opcode ${code.toString(16)}`);
    }
  }
  throw new Error('fell off the end of the program');
}

const ALLOW = 0x7fff0000;
const KILL = 0x80000000;
const EPERM = 0x00050001;
const ENOSYS = 0x00050026;

describe.each(Object.values(SECCOMP_ARCHES))('seccomp filter for %s', (arch: SeccompArch) => {
  const { program, summary } = buildSeccompFilter(arch);
  const call = (name: keyof SeccompArch['syscalls'], ...args: number[]) => evaluate(program, { arch: arch.audit, nr: arch.syscalls[name], args });

  it('kills any socket but AF_UNIX: a network attempt is detected, not merely refused', () => {
    for (const family of [2, 10, 16, 17, 0x1002]) {
      expect(call('socket', family, 1, 0)).toBe(KILL);
      expect(call('socketpair', family, 1, 0)).toBe(KILL);
    }
    expect(call('socket', 1, 1, 0)).toBe(ALLOW);
    expect(call('socketpair', 1, 1, 0)).toBe(ALLOW);
  });

  it('kills a syscall of another architecture', () => {
    expect(evaluate(program, { arch: 0x40000003, nr: arch.syscalls.socket, args: [1] })).toBe(KILL);
    if (arch.foreignAbiFrom !== undefined) expect(evaluate(program, { arch: arch.audit, nr: arch.foreignAbiFrom + 41 })).toBe(KILL);
  });

  it('refuses namespace clones and terminal injection, allows thread and process clones', () => {
    expect(call('clone', 0x10000000)).toBe(EPERM); // CLONE_NEWUSER
    expect(call('clone', 0x40000000 | 0x11)).toBe(EPERM); // CLONE_NEWNET
    expect(call('clone', 0x003d0f00)).toBe(ALLOW); // pthread_create's flags
    expect(call('clone', 0x01200011)).toBe(ALLOW); // fork()
    expect(call('ioctl', 0, 0x5412)).toBe(EPERM);
    expect(call('ioctl', 1, 0x5401)).toBe(ALLOW); // TCGETS
  });

  it('refuses every listed syscall with its errno and lets the rest through', () => {
    for (const [name, rule] of Object.entries(REFUSED_SYSCALLS)) {
      expect([name, call(name as keyof SeccompArch['syscalls'])]).toEqual([name, rule!.action === 'eperm' ? EPERM : ENOSYS]);
    }
    const listed = new Set(Object.values(arch.syscalls));
    for (let nr = 0; nr < 450; nr++) if (!listed.has(nr)) expect(evaluate(program, { arch: arch.audit, nr })).toBe(ALLOW);
  });

  it('summarises itself with the digest of the exact program bytes', () => {
    expect(summary.instructions).toBe(program.length / 8);
    expect(summary.arch).toBe(arch.name);
    expect(summary.enosys).toEqual(expect.arrayContaining(['clone3', 'io_uring_setup']));
    expect(buildSeccompFilter(arch).summary.sha256).toBe(summary.sha256);
  });
});
