import { realpathSync } from 'node:fs';
import { dirname, posix } from 'node:path';
import type { SandboxLimits } from './limits.js';
import type { MountOp } from './mounts.js';
import { nodeArguments, prlimitArguments, SANDBOX_NAMESPACES, type SandboxPolicy } from './policy.js';
import type { TrainerBackend } from './protocol/messages.js';
import { runtimeMounts, SANDBOX_PATHS } from './runtime-binds.js';
import type { SeccompSummary } from './seccomp/filter.js';

export interface PolicyInputs {
  readonly sandboxed: boolean;
  readonly limits: SandboxLimits;
  readonly backend: TrainerBackend;
  readonly prlimit: string | undefined;
  readonly runAs: { readonly uid: number; readonly gid: number } | null;
  readonly seccomp: SeccompSummary | undefined;
  readonly disableUserns: boolean;
  /** Host directory shown to the trainer as its code (the staged bundle, or the install root when tracing). */
  readonly trainerSource: string | undefined;
  /** Modules preloaded with --import, relative to the trainer root. */
  readonly preload: readonly string[];
  /** The entry script relative to the trainer root; undefined runs the availability probe instead. */
  readonly entry: string | undefined;
  /** Host scratch directory for the unsandboxed fallback. */
  readonly scratchHost: string | undefined;
  /** Adds --allow-child-process (children stay in the sandbox, under limits.processes). */
  readonly allowChildProcesses?: boolean;
}

const PROBE_SCRIPT = ['-e', "process.stdout.write('medfed-sandbox-ok')"];

/**
 * The policy for one kind of run. Sandboxed: the runtime, its libraries and the trainer code are
 * the only read-only binds, /scratch the only writable place (a size-limited tmpfs), /proc and /dev
 * fresh and minimal, / itself read-only; the command is prlimit (the limits) then node under the
 * permission model. Unsandboxed (development): the same command on host paths, no isolation.
 */
export function policyFor(inputs: PolicyInputs): SandboxPolicy {
  const node = realpathSync(process.execPath);
  const trainerRoot = inputs.sandboxed ? SANDBOX_PATHS.trainer : inputs.trainerSource ?? '/nonexistent';
  const scratch = inputs.sandboxed ? SANDBOX_PATHS.scratch : inputs.scratchHost ?? '/nonexistent';
  const nodePath = inputs.sandboxed ? SANDBOX_PATHS.node : node;
  const prlimitPath = inputs.prlimit === undefined ? undefined : inputs.sandboxed ? SANDBOX_PATHS.prlimit : inputs.prlimit;
  const inRoot = (rel: string) => posix.join(trainerRoot, rel);
  const script = inputs.entry === undefined ? PROBE_SCRIPT : [inRoot(inputs.entry)];
  const command = [
    ...(prlimitPath === undefined ? [] : [prlimitPath, ...prlimitArguments(inputs.limits), '--']),
    nodePath,
    ...nodeArguments({ trainerRoot, scratch, limits: inputs.limits, preload: inputs.preload.map(inRoot), script, allowChildProcesses: inputs.allowChildProcesses === true }),
  ];
  const env = { HOME: scratch, TMPDIR: scratch, PATH: inputs.sandboxed ? dirname(SANDBOX_PATHS.node) : dirname(node), MEDFED_TRAINING_BACKEND: inputs.backend };
  if (!inputs.sandboxed) {
    return { v: 1, engine: 'none', namespaces: [], options: [], mounts: [], seccomp: null, limits: inputs.limits, command, env, runAs: inputs.runAs };
  }
  const mounts: MountOp[] = [
    ...runtimeMounts(node, inputs.prlimit!),
    ...(inputs.trainerSource === undefined ? [] : [{ op: 'ro-bind' as const, src: inputs.trainerSource, dest: SANDBOX_PATHS.trainer }]),
    { op: 'proc', dest: '/proc' },
    { op: 'dev', dest: '/dev' },
    { op: 'tmpfs', dest: SANDBOX_PATHS.scratch, sizeBytes: inputs.limits.scratchBytes, mode: '0700' },
    { op: 'remount-ro', dest: '/' },
  ];
  const options = ['die-with-parent', 'new-session', ...(inputs.disableUserns ? ['disable-userns'] : []), 'clearenv', 'hostname=medfed-trainer', `chdir=${SANDBOX_PATHS.scratch}`];
  return { v: 1, engine: 'bubblewrap', namespaces: [...SANDBOX_NAMESPACES], options, mounts, seccomp: inputs.seccomp ?? null, limits: inputs.limits, command, env, runAs: inputs.runAs };
}
