import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MAIN } from './cli.js';

/**
 * Real `medfed` processes for fault injection (test/faults): each runs the built CLI under the Node
 * that runs the tests (process.execPath, Node 24), in its own process group, with stdout and stderr
 * captured to files (one pair per incarnation) and split into lines as they arrive; an optional log
 * file the process writes (an agent's `logFile`) is tailed too. Lines are how a test PROVES where a
 * process is (waitFor), never a sleep. kill9() is SIGKILL of the whole group (as a crash would
 * leave it); restart() starts the same command again.
 */

export type LineSource = 'stdout' | 'stderr' | 'log';

export interface LogLine {
  readonly process: string;
  /** 1 for the first start, 2 after the first restart, ... */
  readonly incarnation: number;
  readonly source: LineSource;
  /** Position in the process's line list (across incarnations). */
  readonly index: number;
  /** When the harness read the line (ms since the epoch). */
  readonly at: number;
  readonly text: string;
  /** The line parsed as a JSON object (pino logs, the CLI's event lines), or null. */
  readonly json: Record<string, any> | null;
}

export interface ExitInfo {
  readonly incarnation: number;
  readonly pid: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** What the harness asked for; null: the process exited on its own. */
  readonly requested: 'kill9' | 'stop' | null;
  readonly at: number;
}

export interface MedfedProcessOptions {
  /** A short name for files and messages (e.g. coordinator-a, agent-site-b). */
  readonly name: string;
  /** Arguments after `medfed`. */
  readonly args: readonly string[];
  /** Where `<name>.<n>.stdout.log` and `<name>.<n>.stderr.log` are written. */
  readonly outDir: string;
  /** A log file the process itself writes (appended across restarts): tailed into `lines` as source 'log'. */
  readonly logFile?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

export interface WaitOptions {
  /** What is awaited, for the timeout message. */
  readonly what: string;
  readonly timeoutMs: number;
  /** Only lines at or after this index count (default 0: every line seen so far counts too). */
  readonly from?: number;
  /** Rejects when aborted (e.g. the job ended first). */
  readonly signal?: AbortSignal;
  /** Reject as soon as the process exits (default true). */
  readonly failOnExit?: boolean;
}

interface Waiter {
  readonly predicate: (line: LogLine) => boolean;
  readonly options: WaitOptions;
  readonly resolve: (line: LogLine) => void;
  readonly reject: (err: Error) => void;
  readonly cleanup: () => void;
}

const running = new Set<MedfedProcess>();
let exitHookInstalled = false;

/** The last resort if the test process ends with children still up: SIGKILL their groups. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of running) p.killGroupSync();
  });
}

export class MedfedProcess {
  readonly name: string;
  readonly args: readonly string[];
  readonly options: MedfedProcessOptions;
  readonly lines: LogLine[] = [];
  readonly exits: ExitInfo[] = [];
  #child: ChildProcess | null = null;
  #incarnation = 0;
  #requested: ExitInfo['requested'] = null;
  #exited: Promise<ExitInfo> | null = null;
  #waiters = new Set<Waiter>();
  #files: WriteStream[] = [];
  #partial: Record<LineSource, string> = { stdout: '', stderr: '', log: '' };
  #tailTimer: NodeJS.Timeout | null = null;
  #tailOffset = 0;
  #tailChain: Promise<void> = Promise.resolve();
  #tailQueued = false;

  private constructor(options: MedfedProcessOptions) {
    this.name = options.name;
    this.args = options.args;
    this.options = options;
  }

  /** Starts `medfed <args>` (see the class comment). */
  static start(options: MedfedProcessOptions): MedfedProcess {
    const p = new MedfedProcess(options);
    p.#spawn();
    if (options.logFile) void p.#startTail();
    return p;
  }

  get incarnation(): number {
    return this.#incarnation;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== null && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Exits nobody asked for (crashes, or the process giving up on its own). */
  unexpectedExits(): ExitInfo[] {
    return this.exits.filter((e) => e.requested === null);
  }

  /** Starts the same command again; the previous incarnation must have exited. */
  restart(): void {
    if (this.running) throw new Error(`${this.name} is still running (pid ${this.pid}); kill or stop it first`);
    this.#spawn();
  }

  /** SIGKILL to the process group; resolves with the exit. */
  async kill9(): Promise<ExitInfo> {
    if (!this.running) throw new Error(`${this.name} is not running`);
    this.#requested = 'kill9';
    this.killGroupSync();
    const exit = await this.#exited!;
    await this.#flushTail(); // what the killed incarnation managed to write is attributed to it
    return exit;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit (null when it was not running). */
  async stop(graceMs = 10_000): Promise<ExitInfo | null> {
    if (!this.running) {
      this.#stopTail();
      return null;
    }
    this.#requested = 'stop';
    const child = this.#child!;
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      child.kill('SIGTERM');
    }
    const timer = setTimeout(() => this.killGroupSync(), graceMs);
    const exit = await this.#exited!;
    clearTimeout(timer);
    // Whatever the group left behind (a child of the process) goes too.
    this.killGroupSync(exit.pid);
    await this.#flushTail();
    this.#stopTail();
    return exit;
  }

  /** SIGKILL to this process's group (or a former incarnation's), synchronously; ignores a group that is gone. */
  killGroupSync(pid = this.#child?.pid): void {
    if (!pid) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  /**
   * Resolves with the first line (at or after `from`) that satisfies `predicate`, including lines
   * already seen; rejects on timeout, on abort, or (by default) when the process exits first.
   */
  waitFor(predicate: (line: LogLine) => boolean, options: WaitOptions): Promise<LogLine> {
    const from = options.from ?? 0;
    const seen = this.lines.slice(from).find(predicate);
    if (seen) return Promise.resolve(seen);
    if (options.signal?.aborted) return Promise.reject(this.#waitError(options, `aborted (${String(options.signal.reason ?? 'no reason')})`));
    if ((options.failOnExit ?? true) && !this.running) return Promise.reject(this.#waitError(options, 'the process is not running'));
    return new Promise<LogLine>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        cleanup();
        reject(this.#waitError(options, `timed out after ${(options.timeoutMs / 1000).toFixed(0)} s`));
      }, options.timeoutMs);
      const onAbort = () => {
        this.#waiters.delete(waiter);
        cleanup();
        reject(this.#waitError(options, `aborted (${String(options.signal?.reason ?? 'no reason')})`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const waiter: Waiter = {
        predicate: (line) => line.index >= from && predicate(line), options, cleanup,
        resolve: (line) => { cleanup(); resolve(line); },
        reject: (err) => { cleanup(); reject(err); },
      };
      this.#waiters.add(waiter);
    });
  }

  /** The first JSON line whose `msg` is `msg` and whose fields include `fields` (deep-equal per field). */
  waitForLog(msg: string, fields: Record<string, unknown>, options: Omit<WaitOptions, 'what'> & { what?: string }): Promise<LogLine> {
    return this.waitFor((l) => l.json?.msg === msg && matches(l.json, fields), { what: options.what ?? `'${msg}' ${JSON.stringify(fields)}`, ...options });
  }

  /** Lines that satisfy `predicate`. */
  matching(predicate: (line: LogLine) => boolean): LogLine[] {
    return this.lines.filter(predicate);
  }

  /** The last `n` lines of `source` (all sources by default), for failure messages. */
  tail(n = 20, source?: LineSource): string {
    const picked = source ? this.lines.filter((l) => l.source === source) : this.lines;
    return picked.slice(-n).map((l) => `  [${l.source}#${l.incarnation}] ${l.text.slice(0, 400)}`).join('\n');
  }

  /** Where the current incarnation's stdout and stderr are written. */
  outputFiles(incarnation = this.#incarnation): { stdout: string; stderr: string } {
    return {
      stdout: join(this.options.outDir, `${this.name}.${incarnation}.stdout.log`),
      stderr: join(this.options.outDir, `${this.name}.${incarnation}.stderr.log`),
    };
  }

  /** Reads what the tailed log file holds now (e.g. after a kill, before checking it). */
  async flush(): Promise<void> {
    await this.#flushTail();
  }

  #waitError(options: WaitOptions, why: string): Error {
    return new Error(`${this.name}: ${why} waiting for ${options.what}\nlast lines of ${this.name}:\n${this.tail(15)}`);
  }

  #spawn(): void {
    installExitHook();
    this.#incarnation++;
    this.#requested = null;
    this.#partial.stdout = '';
    this.#partial.stderr = '';
    const files = this.outputFiles();
    const out = createWriteStream(files.stdout, { flags: 'a' });
    const err = createWriteStream(files.stderr, { flags: 'a' });
    this.#files.push(out, err);
    const child = spawn(process.execPath, [MAIN, ...this.args], {
      cwd: this.options.cwd, env: this.options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    });
    this.#child = child;
    running.add(this);
    const incarnation = this.#incarnation;
    child.stdout!.on('data', (d: Buffer) => { out.write(d); this.#ingest('stdout', d.toString('utf8'), incarnation); });
    child.stderr!.on('data', (d: Buffer) => { err.write(d); this.#ingest('stderr', d.toString('utf8'), incarnation); });
    const pid = child.pid ?? -1;
    this.#exited = new Promise<ExitInfo>((resolve) => {
      // 'close': the process exited AND its pipes are drained, so every line it wrote has been seen.
      child.once('close', (code, signal) => {
        for (const source of ['stdout', 'stderr'] as const) {
          if (this.#partial[source]) this.#push(source, this.#partial[source], incarnation);
          this.#partial[source] = '';
        }
        out.end();
        err.end();
        const info: ExitInfo = { incarnation, pid, code, signal, requested: this.#requested, at: Date.now() };
        this.exits.push(info);
        if (this.#child === child) running.delete(this);
        for (const w of [...this.#waiters]) {
          if (w.options.failOnExit ?? true) {
            this.#waiters.delete(w);
            w.reject(this.#waitError(w.options, `the process exited (code ${code}, signal ${signal})`));
          }
        }
        resolve(info);
      });
    });
  }

  #ingest(source: LineSource, text: string, incarnation: number): void {
    const parts = (this.#partial[source] + text).split('\n');
    this.#partial[source] = parts.pop() ?? '';
    for (const part of parts) this.#push(source, part, incarnation);
  }

  #push(source: LineSource, raw: string, incarnation: number): void {
    const text = raw.replace(/\r$/, '');
    if (text === '') return;
    let json: Record<string, any> | null = null;
    if (text.startsWith('{')) {
      try {
        const parsed = JSON.parse(text) as unknown;
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) json = parsed as Record<string, any>;
      } catch {
        // not JSON
      }
    }
    const line: LogLine = { process: this.name, incarnation, source, index: this.lines.length, at: Date.now(), text, json };
    this.lines.push(line);
    for (const w of [...this.#waiters]) {
      if (w.predicate(line)) {
        this.#waiters.delete(w);
        w.resolve(line);
      }
    }
  }

  async #startTail(): Promise<void> {
    this.#tailTimer = setInterval(() => {
      if (!this.#tailQueued) void this.#flushTail();
    }, 50);
    this.#tailTimer.unref();
  }

  #stopTail(): void {
    if (this.#tailTimer) clearInterval(this.#tailTimer);
    this.#tailTimer = null;
  }

  /** Reads what was appended to the log file since the last read; reads are chained, never concurrent. */
  #flushTail(): Promise<void> {
    this.#tailQueued = true;
    this.#tailChain = this.#tailChain.then(async () => {
      this.#tailQueued = false;
      await this.#readTail();
    }).catch(() => {});
    return this.#tailChain;
  }

  async #readTail(): Promise<void> {
    const file = this.options.logFile;
    if (!file) return;
    const size = await stat(file).then((s) => s.size, () => 0);
    if (size < this.#tailOffset) this.#tailOffset = 0; // replaced: read it again from the start
    if (size === this.#tailOffset) return;
    const handle = await open(file, 'r');
    try {
      const length = size - this.#tailOffset;
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, this.#tailOffset);
      this.#tailOffset += bytesRead;
      this.#ingest('log', buffer.subarray(0, bytesRead).toString('utf8'), this.#incarnation);
    } finally {
      await handle.close();
    }
  }
}

/** Whether every field of `fields` equals the same field of `json` (JSON-deep equality). */
export function matches(json: Record<string, unknown> | null, fields: Record<string, unknown>): boolean {
  if (!json) return false;
  return Object.entries(fields).every(([k, v]) => JSON.stringify(json[k]) === JSON.stringify(v));
}

/** Stops every process still running (SIGTERM, then SIGKILL), in parallel. */
export async function stopAll(processes: Iterable<MedfedProcess>): Promise<void> {
  await Promise.all([...processes].map((p) => p.stop().catch(() => null)));
}
