import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { classifyExit, type Breach, type TrainerExit } from './breach.js';
import { SandboxError } from './errors.js';
import type { MonitorThresholds, SandboxLimits } from './limits.js';
import { readProcessTreeUsage, type ProcessUsage } from './proc-usage.js';
import { FrameError, FrameReader, type Frame } from './protocol/frames.js';

/** How to start one trainer process. */
export interface TrainerLaunch {
  readonly file: string;
  readonly args: readonly string[];
  /** bubblewrap: exit status 128+n means the trainer died of signal n; the status fd names its pid. */
  readonly sandboxed: boolean;
  /** The compiled seccomp program, written to fd 4 (bubblewrap only). */
  readonly seccompProgram?: Buffer;
  readonly runAs: { readonly uid: number; readonly gid: number } | null;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
}

export interface TrainerUsage {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly peakRssBytes: number;
  /** Most tasks (processes and threads) seen at once. */
  readonly peakTasks: number;
  /** From spawn to the trainer process existing inside the sandbox (bubblewrap's setup time). */
  readonly startMs: number | undefined;
}

export interface TrainerOutcome {
  /** Frames the trainer wrote, in order (result or error, and trace when tracing). */
  readonly frames: readonly Frame[];
  readonly exit: TrainerExit;
  readonly usage: TrainerUsage;
  /** Every breach seen; at most one is fatal and then `fatal` names it. */
  readonly breaches: readonly Breach[];
  readonly fatal: Breach | undefined;
}

const STDERR_TAIL_BYTES = 64 * 1024;

/**
 * Runs one trainer: feeds `input` to its stdin, reads frames from its stdout, samples its CPU and
 * memory in /proc, and kills it on the first fatal breach (a guard violation, a hard limit, a
 * budget marked stop-on-budget, or the wall clock). Never throws for what the trainer does; only
 * for failing to start it.
 */
export function runTrainer(
  launch: TrainerLaunch,
  input: Buffer,
  options: { limits: SandboxLimits; thresholds: MonitorThresholds & { sampleIntervalMs: number }; maxFrameBytes: number },
): Promise<TrainerOutcome> {
  const { limits, thresholds } = options;
  const started = performance.now();
  const stdio: ('pipe' | 'ignore')[] = launch.sandboxed ? ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe'];
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(launch.file, [...launch.args], {
      stdio,
      env: { ...launch.env },
      cwd: launch.cwd,
      // Unsandboxed, the trainer gets its own process group so a kill reaches whatever it started;
      // in the sandbox, killing bubblewrap's init ends the whole pid namespace instead.
      detached: !launch.sandboxed,
      ...(launch.runAs ? { uid: launch.runAs.uid, gid: launch.runAs.gid } : {}),
    });
  } catch (err) {
    throw new SandboxError('SANDBOX_SPAWN_FAILED', `cannot start ${launch.file}: ${(err as Error).message}`, undefined, { cause: err });
  }

  return new Promise<TrainerOutcome>((resolve, reject) => {
    const frames: Frame[] = [];
    const breaches: Breach[] = [];
    let fatal: Breach | undefined;
    let stderr = Buffer.alloc(0);
    let trainerPid: number | undefined = launch.sandboxed ? undefined : child.pid;
    let startMs: number | undefined = launch.sandboxed ? undefined : 0;
    let last: ProcessUsage | undefined;
    let peakRss = 0;
    let peakTasks = 0;
    const reported = new Set<string>();
    const reader = new FrameReader({ maxFrameBytes: options.maxFrameBytes });

    const kill = () => {
      child.kill('SIGKILL');
      if (!launch.sandboxed && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // the group is gone
        }
      }
      if (trainerPid !== undefined && trainerPid !== child.pid) {
        try {
          process.kill(trainerPid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    };
    const breach = (b: Breach) => {
      breaches.push(b);
      if (b.fatal && fatal === undefined) {
        fatal = b;
        kill();
      }
    };
    const reportOnce = (key: string, b: Breach) => {
      if (reported.has(key)) return;
      reported.add(key);
      breach(b);
    };

    const sample = () => {
      if (trainerPid === undefined) return;
      const usage = readProcessTreeUsage(trainerPid);
      if (usage === undefined) return;
      last = usage;
      peakRss = Math.max(peakRss, usage.peakRssBytes, usage.rssBytes);
      peakTasks = Math.max(peakTasks, usage.tasks);
      if (usage.rssBytes > limits.memoryBytes) {
        reportOnce('memory-limit', { kind: 'memory', detail: `resident memory ${usage.rssBytes} bytes passed the limit of ${limits.memoryBytes}`, fatal: true });
      }
      if (thresholds.memoryBudgetBytes !== undefined && usage.rssBytes > thresholds.memoryBudgetBytes) {
        reportOnce('memory-budget', { kind: 'memory', detail: `resident memory ${usage.rssBytes} bytes passed the job's budget of ${thresholds.memoryBudgetBytes}`, fatal: thresholds.stopOnBudget?.memory === true });
      }
      if (thresholds.cpuBudgetMs !== undefined && usage.cpuMs > thresholds.cpuBudgetMs) {
        reportOnce('cpu-budget', { kind: 'cpu', detail: `CPU time ${usage.cpuMs} ms passed the job's budget of ${thresholds.cpuBudgetMs} ms`, fatal: thresholds.stopOnBudget?.cpu === true });
      }
    };
    const sampler = setInterval(sample, thresholds.sampleIntervalMs);
    const wall = setTimeout(() => {
      breach({ kind: 'wall', detail: `the trainer ran past its wall-time limit of ${limits.wallMs} ms`, fatal: true });
    }, limits.wallMs);

    child.on('error', (err) => {
      clearInterval(sampler);
      clearTimeout(wall);
      reject(new SandboxError('SANDBOX_SPAWN_FAILED', `cannot start ${launch.file}: ${err.message}`, undefined, { cause: err }));
    });

    let received = 0;
    child.stdout!.on('data', (chunk: Buffer) => {
      if (fatal !== undefined) return;
      received += chunk.length;
      if (received > 2 * options.maxFrameBytes) {
        breach({ kind: 'exit', detail: `protocol: the trainer wrote more than ${2 * options.maxFrameBytes} bytes, more than any answer needs`, fatal: true });
        return;
      }
      try {
        for (const frame of reader.push(chunk)) {
          frames.push(frame);
          if (frame.header.type === 'result' || frame.header.type === 'error') sample(); // the last look before it exits
          if (frame.header.type === 'violation') {
            const kind = String(frame.header.kind);
            const known = ['read', 'write', 'fork', 'network', 'exit'].includes(kind) ? kind : 'exit';
            breach({ kind: known as Breach['kind'], detail: String(frame.header.detail ?? '').slice(0, 500), fatal: true });
          }
        }
      } catch (err) {
        breach({ kind: 'exit', detail: `protocol: ${err instanceof FrameError ? err.message : String(err)}`, fatal: true });
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = Buffer.concat([stderr, chunk]);
      if (stderr.length > STDERR_TAIL_BYTES) stderr = stderr.subarray(stderr.length - STDERR_TAIL_BYTES);
    });
    if (launch.sandboxed) {
      let status = '';
      child.stdio[3]!.on('data', (chunk: Buffer) => {
        status += chunk.toString('utf8');
        for (const line of status.split('\n').slice(0, -1)) {
          try {
            const info = JSON.parse(line) as { 'child-pid'?: number };
            if (trainerPid === undefined && typeof info['child-pid'] === 'number') {
              trainerPid = info['child-pid'];
              startMs = performance.now() - started;
              if (fatal !== undefined) kill();
            }
          } catch {
            // bubblewrap writes one JSON object per line; ignore anything else
          }
        }
        status = status.slice(status.lastIndexOf('\n') + 1);
      });
      const seccompFd = child.stdio[4] as NodeJS.WritableStream;
      seccompFd.on('error', () => undefined);
      seccompFd.end(launch.seccompProgram ?? Buffer.alloc(0));
    }
    child.stdin!.on('error', () => undefined); // a trainer that exits without reading its input
    child.stdin!.end(input);

    child.on('close', (code, signalName) => {
      clearInterval(sampler);
      clearTimeout(wall);
      let signal = signalName === null ? null : (constants.signals as Record<string, number>)[signalName] ?? null;
      let exitCode = code;
      if (launch.sandboxed && code !== null && code > 128 && code < 128 + 65) {
        signal = code - 128;
        exitCode = null;
      }
      const exit: TrainerExit = { code: exitCode, signal, stderrTail: stderr.toString('utf8') };
      if (reader.pending > 0 && fatal === undefined) breach({ kind: 'exit', detail: `protocol: ${reader.pending} bytes of an incomplete frame`, fatal: true });
      // A clean end is exit 0 after a result or exit 2 after an error frame (trainer-main's convention).
      const answered = frames.some((f) => f.header.type === 'result' || f.header.type === 'error');
      if (fatal === undefined && (!answered || (exitCode !== 0 && exitCode !== 2))) breach(classifyExit(exit));
      resolve({
        frames,
        exit,
        usage: { wallMs: performance.now() - started, cpuMs: last?.cpuMs ?? 0, peakRssBytes: peakRss, peakTasks, startMs },
        breaches,
        fatal,
      });
    });
  });
}
