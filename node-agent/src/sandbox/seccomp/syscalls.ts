/**
 * The architectures the filter supports: the audit arch value the kernel puts in
 * seccomp_data.arch, and the syscall numbers the filter names (from asm/unistd_64.h for x86_64
 * and asm-generic/unistd.h for aarch64). Any other architecture gets no filter and the sandbox
 * availability probe says so.
 */
export interface SeccompArch {
  readonly name: 'x86_64' | 'aarch64';
  /** AUDIT_ARCH_* */
  readonly audit: number;
  /** Syscall numbers at and above this belong to another ABI on the same arch (x86_64's x32). */
  readonly foreignAbiFrom: number | undefined;
  readonly syscalls: Readonly<Record<SyscallName, number>>;
}

export const SYSCALL_NAMES = [
  'socket', 'socketpair', 'clone', 'clone3', 'unshare', 'setns', 'ioctl',
  'mount', 'umount2', 'pivot_root', 'chroot', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'move_mount', 'open_tree', 'mount_setattr',
  'ptrace', 'process_vm_readv', 'process_vm_writev', 'bpf', 'perf_event_open', 'userfaultfd',
  'keyctl', 'add_key', 'request_key', 'kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module',
  'open_by_handle_at', 'name_to_handle_at', 'acct', 'swapon', 'swapoff', 'reboot', 'syslog', 'quotactl', 'vhangup',
  'io_uring_setup', 'io_uring_enter', 'io_uring_register',
] as const;
export type SyscallName = (typeof SYSCALL_NAMES)[number];

const X86_64: Record<SyscallName, number> = {
  socket: 41, socketpair: 53, clone: 56, clone3: 435, unshare: 272, setns: 308, ioctl: 16,
  mount: 165, umount2: 166, pivot_root: 155, chroot: 161, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433, move_mount: 429, open_tree: 428, mount_setattr: 442,
  ptrace: 101, process_vm_readv: 310, process_vm_writev: 311, bpf: 321, perf_event_open: 298, userfaultfd: 323,
  keyctl: 250, add_key: 248, request_key: 249, kexec_load: 246, kexec_file_load: 320, init_module: 175, finit_module: 313, delete_module: 176,
  open_by_handle_at: 304, name_to_handle_at: 303, acct: 163, swapon: 167, swapoff: 168, reboot: 169, syslog: 103, quotactl: 179, vhangup: 153,
  io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427,
};

const AARCH64: Record<SyscallName, number> = {
  socket: 198, socketpair: 199, clone: 220, clone3: 435, unshare: 97, setns: 268, ioctl: 29,
  mount: 40, umount2: 39, pivot_root: 41, chroot: 51, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433, move_mount: 429, open_tree: 428, mount_setattr: 442,
  ptrace: 117, process_vm_readv: 270, process_vm_writev: 271, bpf: 280, perf_event_open: 241, userfaultfd: 282,
  keyctl: 219, add_key: 217, request_key: 218, kexec_load: 104, kexec_file_load: 294, init_module: 105, finit_module: 273, delete_module: 106,
  open_by_handle_at: 265, name_to_handle_at: 264, acct: 89, swapon: 224, swapoff: 225, reboot: 142, syslog: 116, quotactl: 60, vhangup: 58,
  io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427,
};

export const SECCOMP_ARCHES: Readonly<Record<string, SeccompArch>> = {
  x64: { name: 'x86_64', audit: 0xc000003e, foreignAbiFrom: 0x40000000, syscalls: X86_64 },
  arm64: { name: 'aarch64', audit: 0xc00000b7, foreignAbiFrom: undefined, syscalls: AARCH64 },
};

/** The filter's architecture for this Node.js process (`process.arch`), or undefined. */
export function hostSeccompArch(arch: string = process.arch): SeccompArch | undefined {
  return SECCOMP_ARCHES[arch];
}
