/** What the monitor reports for the audit trail when the trainer oversteps. */
export const BREACH_KINDS = ['memory', 'cpu', 'wall', 'network', 'write', 'read', 'fork', 'exit'] as const;
export type BreachKind = (typeof BREACH_KINDS)[number];

export interface Breach {
  readonly kind: BreachKind;
  readonly detail: string;
  /** true: the trainer was (or is being) stopped and its output is discarded. */
  readonly fatal: boolean;
}

/** Linux signal numbers the classification needs (x86_64 and aarch64 agree on these). */
export const SIGNALS = { SIGTRAP: 5, SIGABRT: 6, SIGKILL: 9, SIGXCPU: 24, SIGXFSZ: 25, SIGSYS: 31 } as const;

export interface TrainerExit {
  /** Exit code when the trainer exited; null when a signal ended it. */
  readonly code: number | null;
  /** Signal number that ended it, if any. */
  readonly signal: number | null;
  /** The last bytes of its stderr, for patterns only (never forwarded off the host). */
  readonly stderrTail: string;
}

/** How an exit without a violation frame is read, first match wins. */
const EXIT_RULES: readonly { kind: BreachKind; test: (e: TrainerExit) => boolean; detail: (e: TrainerExit) => string }[] = [
  { kind: 'network', test: (e) => e.signal === SIGNALS.SIGSYS, detail: () => 'seccomp killed the trainer (SIGSYS): it opened a non-AF_UNIX socket (a network attempt) or made a syscall of a foreign ABI' },
  { kind: 'cpu', test: (e) => e.signal === SIGNALS.SIGXCPU, detail: () => 'the trainer reached its CPU-time limit (SIGXCPU)' },
  { kind: 'write', test: (e) => e.signal === SIGNALS.SIGXFSZ, detail: () => 'the trainer wrote a file past its file-size limit (SIGXFSZ)' },
  {
    kind: 'memory',
    test: (e) => /out of memory|Array buffer allocation failed|Cannot allocate memory|ENOMEM|Failed to reserve virtual memory|allocation failed/i.test(e.stderrTail),
    detail: (e) => `the trainer ran out of memory under its data limit: ${firstMatchingLine(e.stderrTail, /memory|allocation/i)}`,
  },
  {
    kind: 'fork',
    test: (e) => /EAGAIN|Resource temporarily unavailable|ERR_ACCESS_DENIED[\s\S]*(ChildProcess|WorkerThreads)/.test(e.stderrTail),
    detail: (e) => `the trainer tried to start processes or threads beyond its limit: ${firstMatchingLine(e.stderrTail, /EAGAIN|temporarily|ChildProcess|WorkerThreads/)}`,
  },
  {
    kind: 'write',
    test: (e) => /EROFS|FileSystemWrite/.test(e.stderrTail),
    detail: (e) => `the trainer tried to write outside its scratch directory: ${firstMatchingLine(e.stderrTail, /EROFS|FileSystemWrite/)}`,
  },
  {
    kind: 'read',
    test: (e) => /FileSystemRead/.test(e.stderrTail),
    detail: (e) => `the trainer tried to read outside its inputs: ${firstMatchingLine(e.stderrTail, /FileSystemRead|resource/)}`,
  },
];

function firstMatchingLine(text: string, pattern: RegExp): string {
  return (text.split('\n').find((l) => pattern.test(l)) ?? '').trim().slice(0, 300);
}

/** The breach an abnormal exit amounts to; `exit` when nothing more specific is known. */
export function classifyExit(exit: TrainerExit): Breach {
  for (const rule of EXIT_RULES) if (rule.test(exit)) return { kind: rule.kind, detail: rule.detail(exit), fatal: true };
  const how = exit.signal !== null ? `was killed by signal ${exit.signal}` : `exited with code ${String(exit.code)}`;
  const last = exit.stderrTail.trim().split('\n').slice(-1)[0]?.slice(0, 300) ?? '';
  return { kind: 'exit', detail: `the trainer ${how} without a result${last ? `: ${last}` : ''}`, fatal: true };
}
