import { readdirSync, readFileSync } from 'node:fs';

/** Resource use of a process tree as /proc shows it. */
export interface ProcessUsage {
  /** User plus system CPU time of every live process in the tree and of the children they reaped, ms. */
  readonly cpuMs: number;
  /** Sum of the resident sets of the live processes. */
  readonly rssBytes: number;
  /** The largest peak resident set (VmHWM) of any one of them. */
  readonly peakRssBytes: number;
  /** Tasks (threads) in the tree. */
  readonly tasks: number;
  readonly processes: number;
}

/** USER_HZ: the unit of /proc/<pid>/stat times; 100 on every Linux architecture Node.js supports. */
const CLOCK_TICKS_PER_SECOND = 100;
const MAX_PROCESSES = 4096;

function readProcess(pid: number): { cpuTicks: number; rss: number; hwm: number; threads: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    // Fields 14-17 of stat (utime, stime, cutime, cstime) are indexes 11-14 after the name.
    const cpuTicks = (f[11] ?? 0) + (f[12] ?? 0) + (f[13] ?? 0) + (f[14] ?? 0);
    const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { cpuTicks, rss: kib('VmRSS'), hwm: kib('VmHWM'), threads: Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 0) };
  } catch {
    return undefined;
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text.length > 0) for (const c of text.split(' ')) out.push(Number(c));
    }
  } catch {
    // gone, or /proc/<pid>/task/<tid>/children missing (CONFIG_PROC_CHILDREN): the root alone is measured
  }
  return out;
}

/** Reads the tree rooted at `pid` (the sandbox's init process); undefined once it is gone. */
export function readProcessTreeUsage(pid: number): ProcessUsage | undefined {
  const root = readProcess(pid);
  if (root === undefined) return undefined;
  let cpuTicks = 0;
  let rss = 0;
  let hwm = 0;
  let tasks = 0;
  let processes = 0;
  const queue = [pid];
  const seen = new Set<number>();
  while (queue.length > 0 && seen.size < MAX_PROCESSES) {
    const current = queue.shift()!;
    if (seen.has(current)) continue;
    seen.add(current);
    const p = current === pid ? root : readProcess(current);
    if (p === undefined) continue;
    processes += 1;
    cpuTicks += p.cpuTicks;
    rss += p.rss;
    hwm = Math.max(hwm, p.hwm);
    tasks += p.threads;
    queue.push(...childrenOf(current));
  }
  return { cpuMs: (cpuTicks * 1000) / CLOCK_TICKS_PER_SECOND, rssBytes: rss, peakRssBytes: hwm, tasks, processes };
}
