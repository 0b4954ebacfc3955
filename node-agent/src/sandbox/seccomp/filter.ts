import { createHash } from 'node:crypto';
import { SandboxError } from '../errors.js';
import { assemble, NEXT, SECCOMP_DATA, SECCOMP_RET, type Instruction } from './bpf.js';
import { hostSeccompArch, type SeccompArch, type SyscallName } from './syscalls.js';

const EPERM = 1;
const ENOSYS = 38;
const AF_UNIX = 1;
const TIOCSTI = 0x5412;
const TIOCLINUX = 0x541c;
/** CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWTIME */
const CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x00000080;

type Refusal = 'eperm' | 'enosys';

/** Syscalls the trainer never needs, refused with an errno (the trainer sees a failure, not a kill). */
export const REFUSED_SYSCALLS: Readonly<Partial<Record<SyscallName, { readonly action: Refusal; readonly why: string }>>> = {
  mount: { action: 'eperm', why: 'remounting could undo the read-only view' },
  umount2: { action: 'eperm', why: 'unmounting could reveal what a mount hides' },
  pivot_root: { action: 'eperm', why: 'changes the root' },
  chroot: { action: 'eperm', why: 'changes the root' },
  fsopen: { action: 'eperm', why: 'new mount API' },
  fsconfig: { action: 'eperm', why: 'new mount API' },
  fsmount: { action: 'eperm', why: 'new mount API' },
  fspick: { action: 'eperm', why: 'new mount API' },
  move_mount: { action: 'eperm', why: 'new mount API' },
  open_tree: { action: 'eperm', why: 'new mount API' },
  mount_setattr: { action: 'eperm', why: 'could clear read-only' },
  unshare: { action: 'eperm', why: 'new namespaces could rearrange the sandbox' },
  setns: { action: 'eperm', why: 'joining another namespace' },
  ptrace: { action: 'eperm', why: 'reads and writes another process' },
  process_vm_readv: { action: 'eperm', why: "reads another process's memory" },
  process_vm_writev: { action: 'eperm', why: "writes another process's memory" },
  bpf: { action: 'eperm', why: 'kernel attack surface' },
  perf_event_open: { action: 'eperm', why: 'kernel attack surface and side channels' },
  userfaultfd: { action: 'eperm', why: 'widens kernel race windows' },
  keyctl: { action: 'eperm', why: 'kernel keyrings are not namespaced' },
  add_key: { action: 'eperm', why: 'kernel keyrings are not namespaced' },
  request_key: { action: 'eperm', why: 'kernel keyrings are not namespaced' },
  kexec_load: { action: 'eperm', why: 'host administration' },
  kexec_file_load: { action: 'eperm', why: 'host administration' },
  init_module: { action: 'eperm', why: 'host administration' },
  finit_module: { action: 'eperm', why: 'host administration' },
  delete_module: { action: 'eperm', why: 'host administration' },
  acct: { action: 'eperm', why: 'host administration' },
  swapon: { action: 'eperm', why: 'host administration' },
  swapoff: { action: 'eperm', why: 'host administration' },
  reboot: { action: 'eperm', why: 'host administration' },
  syslog: { action: 'eperm', why: 'reads the kernel log' },
  quotactl: { action: 'eperm', why: 'host administration' },
  vhangup: { action: 'eperm', why: 'terminal control' },
  open_by_handle_at: { action: 'eperm', why: 'file handles bypass the mount view' },
  name_to_handle_at: { action: 'eperm', why: 'file handles bypass the mount view' },
  io_uring_setup: { action: 'enosys', why: 'io_uring operations (sockets included) bypass seccomp; libuv falls back to its thread pool' },
  io_uring_enter: { action: 'enosys', why: 'io_uring bypasses seccomp' },
  io_uring_register: { action: 'enosys', why: 'io_uring bypasses seccomp' },
  clone3: { action: 'enosys', why: 'its flags are in memory seccomp cannot read; glibc then falls back to clone, whose flags are checked' },
};

/** What the filter does, in words, for the policy (and so the policy digest) and docs/sandbox.md. */
export interface SeccompSummary {
  readonly arch: SeccompArch['name'];
  /** SHA-256 (hex) of the exact program bytes handed to bubblewrap. */
  readonly sha256: string;
  readonly instructions: number;
  readonly killProcess: readonly string[];
  readonly eperm: readonly string[];
  readonly enosys: readonly string[];
}

export interface SeccompFilter {
  readonly program: Buffer;
  readonly summary: SeccompSummary;
}

/**
 * The filter: a wrong architecture or a foreign ABI kills the process; socket() and socketpair()
 * for any family but AF_UNIX kill the process (SECCOMP_RET_KILL_PROCESS, seen by the agent as
 * SIGSYS, i.e. a *detected* network attempt that cannot be caught); clone() with namespace flags
 * and the terminal-injection ioctls fail with EPERM; REFUSED_SYSCALLS fail with their errno;
 * everything else is allowed. Paths cannot be checked in seccomp (arguments are pointers), so
 * writes are confined by read-only mounts instead, not here.
 */
export function buildSeccompFilter(arch: SeccompArch | undefined = hostSeccompArch()): SeccompFilter {
  if (arch === undefined) throw new SandboxError('SANDBOX_UNAVAILABLE', `no seccomp filter for architecture ${process.arch}; supported: x64, arm64`);
  const nr = arch.syscalls;
  const p: Instruction[] = [
    { kind: 'load', offset: SECCOMP_DATA.arch },
    { kind: 'jump', test: 'eq', value: arch.audit, then: NEXT, else: 'kill' },
    { kind: 'load', offset: SECCOMP_DATA.nr },
  ];
  if (arch.foreignAbiFrom !== undefined) p.push({ kind: 'jump', test: 'ge', value: arch.foreignAbiFrom, then: 'kill', else: NEXT });
  p.push(
    { kind: 'jump', test: 'eq', value: nr.socket, then: 'socket', else: NEXT },
    { kind: 'jump', test: 'eq', value: nr.socketpair, then: 'socket', else: NEXT },
    { kind: 'jump', test: 'eq', value: nr.clone, then: 'clone', else: NEXT },
    { kind: 'jump', test: 'eq', value: nr.ioctl, then: 'ioctl', else: NEXT },
  );
  const refused = Object.entries(REFUSED_SYSCALLS) as [SyscallName, { action: Refusal }][];
  for (const [name, { action }] of refused) p.push({ kind: 'jump', test: 'eq', value: nr[name], then: action, else: NEXT });
  p.push(
    { kind: 'ret', value: SECCOMP_RET.ALLOW },
    { kind: 'label', name: 'socket' },
    { kind: 'load', offset: SECCOMP_DATA.argLow(0) },
    { kind: 'jump', test: 'eq', value: AF_UNIX, then: 'allow', else: 'kill' },
    { kind: 'label', name: 'clone' },
    { kind: 'load', offset: SECCOMP_DATA.argLow(0) },
    { kind: 'jump', test: 'set', value: CLONE_NAMESPACE_FLAGS, then: 'eperm', else: 'allow' },
    { kind: 'label', name: 'ioctl' },
    { kind: 'load', offset: SECCOMP_DATA.argLow(1) },
    { kind: 'jump', test: 'eq', value: TIOCSTI, then: 'eperm', else: NEXT },
    { kind: 'jump', test: 'eq', value: TIOCLINUX, then: 'eperm', else: 'allow' },
    { kind: 'label', name: 'allow' },
    { kind: 'ret', value: SECCOMP_RET.ALLOW },
    { kind: 'label', name: 'eperm' },
    { kind: 'ret', value: SECCOMP_RET.ERRNO | EPERM },
    { kind: 'label', name: 'enosys' },
    { kind: 'ret', value: SECCOMP_RET.ERRNO | ENOSYS },
    { kind: 'label', name: 'kill' },
    { kind: 'ret', value: SECCOMP_RET.KILL_PROCESS },
  );
  const program = assemble(p);
  const named = (action: Refusal) => refused.filter(([, r]) => r.action === action).map(([name]) => name).sort();
  return {
    program,
    summary: {
      arch: arch.name,
      sha256: createHash('sha256').update(program).digest('hex'),
      instructions: program.length / 8,
      killProcess: ['socket(family != AF_UNIX)', 'socketpair(family != AF_UNIX)', 'any syscall of another architecture or ABI'],
      eperm: [...named('eperm'), 'clone(namespace flags)', 'ioctl(TIOCSTI, TIOCLINUX)'],
      enosys: named('enosys'),
    },
  };
}
