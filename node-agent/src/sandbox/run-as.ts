import { SandboxError } from './errors.js';

/** The unprivileged user a root agent drops to for the sandbox (nobody). */
export const DEFAULT_SANDBOX_USER = { uid: 65534, gid: 65534 } as const;

/**
 * Which host user starts the sandbox. A root agent must not start it as root: root is exempt from
 * RLIMIT_NPROC, and bubblewrap would map the trainer to host uid 0. So root drops to nobody unless
 * told otherwise; any other user keeps its own uid (undefined: do not change).
 */
export function resolveRunAs(requested: { uid: number; gid: number } | null | undefined): { uid: number; gid: number } | null {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (requested === null) return null;
  if (requested === undefined) return root ? { ...DEFAULT_SANDBOX_USER } : null;
  if (!Number.isSafeInteger(requested.uid) || !Number.isSafeInteger(requested.gid) || requested.uid < 0 || requested.gid < 0) {
    throw new SandboxError('SANDBOX_POLICY_INVALID', `runAs must hold a non-negative integer uid and gid, got ${JSON.stringify(requested)}`);
  }
  if (!root && typeof process.getuid === 'function' && requested.uid !== process.getuid()) {
    throw new SandboxError('SANDBOX_POLICY_INVALID', `runAs uid ${requested.uid} needs a root agent; this agent runs as uid ${process.getuid()}`);
  }
  return requested;
}
