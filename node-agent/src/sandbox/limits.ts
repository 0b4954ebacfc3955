import { SandboxError } from './errors.js';

/**
 * Hard limits: crossing one stops the trainer (the kernel or the agent kills it) and is a fatal breach.
 */
export interface SandboxLimits {
  /**
   * RLIMIT_DATA: private writable memory the trainer may map, in bytes. It counts reservations, not
   * only touched pages: Node.js alone maps about 0.6 GiB before any JavaScript runs, and the
   * TensorFlow.js WebAssembly backend needs about 1 GiB in all for small models (measured; see
   * docs/sandbox.md). An address-space limit (RLIMIT_AS) would break WebAssembly, whose memories
   * reserve large guard regions. The agent also kills the trainer if its resident set exceeds this.
   */
  readonly memoryBytes: number;
  /** RLIMIT_CPU, seconds of CPU time (all threads): SIGXCPU at the limit, SIGKILL one second later. */
  readonly cpuSeconds: number;
  /** Wall-clock time from start to result; the agent kills the sandbox after it. */
  readonly wallMs: number;
  /** RLIMIT_FSIZE: the largest file the trainer may write (only the scratch tmpfs is writable). */
  readonly fileSizeBytes: number;
  /** RLIMIT_NPROC for the sandbox's user namespace: processes and threads together. */
  readonly processes: number;
  /** RLIMIT_NOFILE. */
  readonly openFiles: number;
  /** Size of the scratch tmpfs. */
  readonly scratchBytes: number;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export const DEFAULT_LIMITS: SandboxLimits = {
  memoryBytes: 4 * GiB,
  cpuSeconds: 3600,
  wallMs: 2 * 60 * 60 * 1000,
  fileSizeBytes: 64 * MiB,
  processes: 64,
  openFiles: 256,
  scratchBytes: 64 * MiB,
};

/** The smallest settings under which Node.js and the trainer start at all. */
const MINIMUM: SandboxLimits = {
  memoryBytes: 768 * MiB,
  cpuSeconds: 1,
  wallMs: 100,
  fileSizeBytes: 0,
  processes: 16,
  openFiles: 32,
  scratchBytes: MiB,
};

export function resolveLimits(overrides: Partial<SandboxLimits> = {}): SandboxLimits {
  const limits = { ...DEFAULT_LIMITS, ...overrides };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof SandboxLimits)[]) {
    const value = limits[key];
    if (!Number.isSafeInteger(value) || value < MINIMUM[key]) {
      throw new SandboxError('SANDBOX_POLICY_INVALID', `sandbox limit ${key} must be an integer of at least ${MINIMUM[key]}, got ${String(value)}`);
    }
  }
  return limits;
}

/**
 * Soft thresholds: the job's declared budget. Crossing one is reported as a breach; it stops the
 * trainer only when `stopOnBudget` says so (default: report only).
 */
export interface MonitorThresholds {
  readonly cpuBudgetMs?: number;
  readonly memoryBudgetBytes?: number;
  readonly stopOnBudget?: { readonly cpu?: boolean; readonly memory?: boolean };
  /** How often /proc is sampled, ms (default 100). */
  readonly sampleIntervalMs?: number;
}

export function resolveThresholds(thresholds: MonitorThresholds = {}): Required<Pick<MonitorThresholds, 'sampleIntervalMs'>> & MonitorThresholds {
  const positive = (name: string, v: number | undefined) => {
    if (v !== undefined && (!Number.isSafeInteger(v) || v <= 0)) throw new SandboxError('SANDBOX_POLICY_INVALID', `monitor threshold ${name} must be a positive integer, got ${String(v)}`);
  };
  positive('cpuBudgetMs', thresholds.cpuBudgetMs);
  positive('memoryBudgetBytes', thresholds.memoryBudgetBytes);
  positive('sampleIntervalMs', thresholds.sampleIntervalMs);
  return { ...thresholds, sampleIntervalMs: thresholds.sampleIntervalMs ?? 100 };
}
