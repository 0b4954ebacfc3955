import { endianness } from 'node:os';
import { SandboxError } from '../errors.js';

/**
 * A minimal classic-BPF assembler for seccomp filters (struct sock_filter: u16 code, u8 jt,
 * u8 jf, u32 k). Jumps name labels; `assemble` resolves them to the forward offsets cBPF needs.
 */
export const BPF = {
  LD_W_ABS: 0x20, // BPF_LD | BPF_W | BPF_ABS
  JEQ_K: 0x15, // BPF_JMP | BPF_JEQ | BPF_K
  JGE_K: 0x35, // BPF_JMP | BPF_JGE | BPF_K
  JSET_K: 0x45, // BPF_JMP | BPF_JSET | BPF_K
  RET_K: 0x06, // BPF_RET | BPF_K
} as const;

/** struct seccomp_data offsets. args[i] is 64-bit; its low half comes first on little-endian hosts. */
export const SECCOMP_DATA = {
  nr: 0,
  arch: 4,
  argLow: (i: number): number => 16 + 8 * i + (endianness() === 'LE' ? 0 : 4),
  argHigh: (i: number): number => 16 + 8 * i + (endianness() === 'LE' ? 4 : 0),
} as const;

export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  ALLOW: 0x7fff0000,
} as const;

export type Instruction =
  | { readonly kind: 'load'; readonly offset: number }
  | { readonly kind: 'jump'; readonly test: 'eq' | 'ge' | 'set'; readonly value: number; readonly then: string; readonly else: string }
  | { readonly kind: 'ret'; readonly value: number }
  | { readonly kind: 'label'; readonly name: string };

/** `next` as a jump target means the following instruction. */
export const NEXT = 'next';

const JUMP_CODES = { eq: BPF.JEQ_K, ge: BPF.JGE_K, set: BPF.JSET_K } as const;

/** Encodes the program as the bytes bwrap's --seccomp expects (host byte order, 8 bytes per instruction). */
export function assemble(program: readonly Instruction[]): Buffer {
  const code = program.filter((i) => i.kind !== 'label');
  const labels = new Map<string, number>();
  let index = 0;
  for (const instruction of program) {
    if (instruction.kind === 'label') {
      if (labels.has(instruction.name)) throw new SandboxError('SANDBOX_POLICY_INVALID', `seccomp label ${instruction.name} defined twice`);
      labels.set(instruction.name, index);
    } else index += 1;
  }
  if (code.length === 0 || code.length > 4096) throw new SandboxError('SANDBOX_POLICY_INVALID', `a seccomp program has 1 to 4096 instructions, not ${code.length}`);
  const out = Buffer.alloc(code.length * 8);
  const le = endianness() === 'LE';
  const offsetTo = (from: number, label: string): number => {
    if (label === NEXT) return 0;
    const target = labels.get(label);
    if (target === undefined) throw new SandboxError('SANDBOX_POLICY_INVALID', `seccomp label ${label} is not defined`);
    const offset = target - from - 1;
    if (offset < 0 || offset > 255) throw new SandboxError('SANDBOX_POLICY_INVALID', `seccomp jump to ${label} is ${offset} instructions; cBPF jumps forward 0 to 255`);
    return offset;
  };
  code.forEach((instruction, i) => {
    let op: number;
    let jt = 0;
    let jf = 0;
    let k: number;
    if (instruction.kind === 'load') {
      op = BPF.LD_W_ABS;
      k = instruction.offset;
    } else if (instruction.kind === 'ret') {
      op = BPF.RET_K;
      k = instruction.value;
    } else if (instruction.kind === 'jump') {
      op = JUMP_CODES[instruction.test];
      jt = offsetTo(i, instruction.then);
      jf = offsetTo(i, instruction.else);
      k = instruction.value;
    } else {
      throw new SandboxError('SANDBOX_POLICY_INVALID', 'unreachable: labels were filtered out');
    }
    const at = i * 8;
    if (le) {
      out.writeUInt16LE(op, at);
      out.writeUInt8(jt, at + 2);
      out.writeUInt8(jf, at + 3);
      out.writeUInt32LE(k >>> 0, at + 4);
    } else {
      out.writeUInt16BE(op, at);
      out.writeUInt8(jt, at + 2);
      out.writeUInt8(jf, at + 3);
      out.writeUInt32BE(k >>> 0, at + 4);
    }
  });
  return out;
}
