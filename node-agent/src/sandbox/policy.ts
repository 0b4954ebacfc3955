import { sandboxPolicyDigest } from '@medfed/proto/attestation/index';
import type { SandboxLimits } from './limits.js';
import type { MountOp } from './mounts.js';
import type { SeccompSummary } from './seccomp/filter.js';

/** Namespaces the sandbox unshares (the mount namespace comes with bubblewrap itself). */
export const SANDBOX_NAMESPACES = ['user', 'ipc', 'pid', 'net', 'uts', 'cgroup'] as const;

/**
 * The policy actually applied to a trainer, in one JSON object: its canonical JSON's SHA-256 is the
 * attestation's sandboxPolicyDigest. `engine: 'none'` is the development fallback (no namespaces,
 * mounts or seccomp; limits and the Node.js permission model still apply).
 */
export interface SandboxPolicy {
  readonly v: 1;
  readonly engine: 'bubblewrap' | 'none';
  readonly namespaces: readonly string[];
  /** bubblewrap options other than namespaces and mounts, in order. */
  readonly options: readonly string[];
  readonly mounts: readonly MountOp[];
  readonly seccomp: SeccompSummary | null;
  readonly limits: SandboxLimits;
  /** The command inside the sandbox (prlimit, then node with its flags and the entry) and its whole environment. */
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Host uid/gid the sandbox is started as (the agent drops root to this), or null for the agent's own. */
  readonly runAs: { readonly uid: number; readonly gid: number } | null;
}

export function policyDigest(policy: SandboxPolicy): string {
  return sandboxPolicyDigest(policy);
}

/** Translates a policy into bubblewrap's argument list (status on fd 3, seccomp program on fd 4). */
export function bwrapArguments(policy: SandboxPolicy, fds: { readonly status: number; readonly seccomp: number | undefined }): string[] {
  const args: string[] = [];
  for (const ns of policy.namespaces) args.push(`--unshare-${ns}`);
  for (const option of policy.options) {
    const eq = option.indexOf('=');
    if (eq < 0) args.push(`--${option}`);
    else args.push(`--${option.slice(0, eq)}`, option.slice(eq + 1));
  }
  for (const [name, value] of Object.entries(policy.env)) args.push('--setenv', name, value);
  for (const m of policy.mounts) {
    switch (m.op) {
      case 'ro-bind': args.push('--ro-bind', m.src, m.dest); break;
      case 'symlink': args.push('--symlink', m.target, m.dest); break;
      case 'tmpfs': args.push('--size', String(m.sizeBytes), '--perms', m.mode, '--tmpfs', m.dest); break;
      case 'proc': args.push('--proc', m.dest); break;
      case 'dev': args.push('--dev', m.dest); break;
      case 'remount-ro': args.push('--remount-ro', m.dest); break;
    }
  }
  args.push('--json-status-fd', String(fds.status));
  if (fds.seccomp !== undefined) args.push('--seccomp', String(fds.seccomp));
  args.push('--', ...policy.command);
  return args;
}

/** prlimit arguments for the limits: soft equals hard, except CPU (SIGXCPU first, SIGKILL a second later). */
export function prlimitArguments(limits: SandboxLimits): string[] {
  const both = (v: number) => `${v}:${v}`;
  return [
    `--data=${both(limits.memoryBytes)}`,
    `--cpu=${limits.cpuSeconds}:${limits.cpuSeconds + 1}`,
    `--fsize=${both(limits.fileSizeBytes)}`,
    `--nproc=${both(limits.processes)}`,
    `--nofile=${both(limits.openFiles)}`,
    '--core=0:0',
  ];
}

/** Node.js flags for the trainer: the permission model confines reads to the bundle and scratch, writes to scratch. */
export function nodeArguments(options: { trainerRoot: string; scratch: string; limits: SandboxLimits; preload: readonly string[]; script: readonly string[]; allowChildProcesses?: boolean }): string[] {
  const heapMiB = Math.max(128, Math.floor(options.limits.memoryBytes / (1024 * 1024) / 4));
  return [
    '--permission',
    `--allow-fs-read=${options.trainerRoot}`,
    `--allow-fs-read=${options.scratch}`,
    `--allow-fs-write=${options.scratch}`,
    ...(options.allowChildProcesses === true ? ['--allow-child-process'] : []),
    `--max-old-space-size=${heapMiB}`,
    '--disable-proto=delete',
    ...options.preload.map((p) => `--import=${p}`),
    ...options.script,
  ];
}
