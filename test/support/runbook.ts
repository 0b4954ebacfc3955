import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A runbook as a test: docs/deploy-consortium.md marks every command a person runs with the party
 * that runs it (```sh title="coordinator"```, ```sh title="each hospital (service)"```). This module
 * parses those blocks, runs each one with bash as its own process in its party's directory and
 * environment (daemons in the background, in their own process group), and records a transcript
 * whose run-dependent values (ids, keys, digests, times, temporary paths) are masked, so that it can
 * be compared with the checked-in one.
 */

/** The parties a block can name, and how a block runs: once, or once per hospital. */
export const HOSPITALS = ['hospital-a', 'hospital-b', 'hospital-c'] as const;
export const PARTIES = ['coordinator', ...HOSPITALS, 'research coordinator', 'auditor'] as const;
export type Party = (typeof PARTIES)[number];
const EACH_HOSPITAL = 'each hospital';

export interface RunbookBlock {
  /** 1-based, in document order. */
  readonly index: number;
  /** The numbered section it sits in, e.g. "4. Start the coordinator". */
  readonly step: string;
  /** As written in the title: a party, or "each hospital". */
  readonly title: string;
  /** The parties that run it, in order. */
  readonly parties: readonly Party[];
  /** A daemon: started in the background and left running (its title ends in "(service)"). */
  readonly service: boolean;
  readonly code: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
}

export class RunbookFormatError extends Error {}

const FENCE_OPEN = /^```([A-Za-z]*)(.*)$/;
const TITLE = /\btitle="([^"]*)"/;
const STEP = /^## (\d+)\. (.+)$/;

/**
 * Every marked block of the runbook. A fence with a title must be `sh` and name a known party (a
 * typo would otherwise silently drop a step); fences without a title are illustrations and are not run.
 */
export function parseRunbook(markdown: string): RunbookBlock[] {
  const lines = markdown.split('\n');
  const blocks: RunbookBlock[] = [];
  let step = '';
  for (let i = 0; i < lines.length; i++) {
    const heading = STEP.exec(lines[i]!);
    if (heading) step = `${heading[1]}. ${heading[2]}`;
    const open = FENCE_OPEN.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    if (i >= lines.length) throw new RunbookFormatError(`line ${start + 1}: the code block is never closed`);
    const title = TITLE.exec(open[2]!)?.[1];
    if (title === undefined) continue;
    if (open[1] !== 'sh') throw new RunbookFormatError(`line ${start + 1}: a block with a title runs under bash and must be \`\`\`sh, not \`\`\`${open[1]}`);
    const service = title.endsWith(' (service)');
    const who = service ? title.slice(0, -' (service)'.length) : title;
    const parties: readonly Party[] | null = who === EACH_HOSPITAL ? HOSPITALS : (PARTIES as readonly string[]).includes(who) ? [who as Party] : null;
    if (!parties) throw new RunbookFormatError(`line ${start + 1}: title="${title}" names no party (${[...PARTIES, EACH_HOSPITAL].join(', ')}, optionally followed by " (service)")`);
    if (!step) throw new RunbookFormatError(`line ${start + 1}: a command block before the first numbered step (## 1. ...)`);
    blocks.push({ index: blocks.length + 1, step, title, parties, service, code: body.join('\n'), line: start + 1 });
  }
  return blocks;
}

/** What must never appear in a production runbook, and where it is looked for. */
const DEVELOPMENT_ONLY: ReadonlyArray<{ pattern: RegExp; what: string; scope: 'document' | 'blocks' }> = [
  { pattern: /--dev\b/, what: 'a --dev flag', scope: 'document' },
  { pattern: /autoApprove/, what: 'an autoApprove* setting', scope: 'document' },
  { pattern: /dev-ca\b/, what: 'the development CA (medfed dev-ca)', scope: 'document' },
  { pattern: /env:\s*development|MEDFED_ENV=development|--env development/, what: 'the development environment', scope: 'document' },
  { pattern: /NODE_EXTRA_CA_CERTS/, what: 'NODE_EXTRA_CA_CERTS', scope: 'document' },
  { pattern: /allowAnonymousNodes/, what: 'anonymous development nodes', scope: 'document' },
  { pattern: /--plaintext\b/, what: 'a plaintext (unencrypted) job', scope: 'document' },
  { pattern: /development/i, what: 'the word "development"', scope: 'blocks' },
];

/** Each development-only option found: in any command block, and the worst ones anywhere in the document. */
export function developmentOnlyFindings(markdown: string, blocks: readonly RunbookBlock[]): string[] {
  const found: string[] = [];
  for (const rule of DEVELOPMENT_ONLY) {
    if (rule.scope === 'document') {
      markdown.split('\n').forEach((text, i) => {
        if (rule.pattern.test(text)) found.push(`line ${i + 1}: ${rule.what}: ${text.trim()}`);
      });
    }
    for (const b of blocks) {
      b.code.split('\n').forEach((text, i) => {
        if (rule.pattern.test(text)) found.push(`block ${b.index} (${b.title}, line ${b.line + 1 + i}): ${rule.what}: ${text.trim()}`);
      });
    }
  }
  return [...new Set(found)];
}

// ------------------------------------------------------------------------------------------------
// the transcript

export interface TranscriptEntry {
  readonly block: RunbookBlock;
  readonly party: Party;
  /** Exit code of a command block; null for a service (it keeps running). */
  readonly exit: number | null;
  readonly output: string;
}

/** The header line of one run of a block (a block that runs per hospital has one per hospital). */
export function entryHeader(block: RunbookBlock, party: Party): string {
  const who = block.title.startsWith(EACH_HOSPITAL) ? `${party} (${block.title})` : block.title;
  return `## step ${block.step.split('.')[0]} · block ${block.index} · ${who}`;
}

/** The lines a transcript's structure consists of, for one run of a block. */
function structureOf(block: RunbookBlock, party: Party, exit: number | null): string[] {
  return [entryHeader(block, party), ...block.code.split('\n').map((l) => `$ ${l}`), block.service ? '[service: runs in the background]' : `[exit ${exit}]`];
}

/** What a full run of the runbook must look like: every block, for every party, exiting 0. */
export function expectedStructure(blocks: readonly RunbookBlock[]): string[] {
  return blocks.flatMap((b) => b.parties.flatMap((p) => structureOf(b, p, b.service ? null : 0)));
}

/** The structural lines of a transcript file: headers, commands and exits (output lines are left out). */
export function structureOfTranscript(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('## step ') || l.startsWith('$ ') || l === '$' || /^\[(exit -?\d+|service: .*)\]$/.test(l))
    .map((l) => (l === '$' ? '$ ' : l));
}

/** The transcript file: per run of a block, its header, its commands, its masked output and its exit. */
export function renderTranscript(entries: readonly TranscriptEntry[], mask: (text: string) => string, source: string): string {
  const out = [
    `# Transcript of ${source}, run as written by test/e2e/runbook.test.ts.`,
    '# Each block: its commands ($), its output (|), its exit code. Ids, keys, digests, fingerprints,',
    '# thumbprints, times, ports and temporary paths are masked. Regenerate with MEDFED_RUNBOOK_UPDATE=1.',
    '',
  ];
  for (const e of entries) {
    out.push(entryHeader(e.block, e.party), ...e.block.code.split('\n').map((l) => `$ ${l}`));
    const output = mask(e.output).replace(/\n+$/, '');
    if (output) out.push(...output.split('\n').map((l) => (l ? `| ${l}` : '|')));
    out.push(e.block.service ? '[service: runs in the background]' : `[exit ${e.exit}]`, '');
  }
  return `${out.join('\n').replace(/ +$/gm, '')}\n`;
}

/**
 * A masker for run-dependent values: first the literal values of the run (temporary paths and ports,
 * longest first, replaced by the variable the runbook names them with), then what has a recognisable
 * shape (API keys, fingerprints, enrollment codes, ids, digests, thumbprints, times, durations, measurements).
 */
export function masker(literals: ReadonlyArray<readonly [value: string, name: string]>): (text: string) => string {
  const byLength = [...literals].filter(([v]) => v.length > 0).sort((a, b) => b[0].length - a[0].length);
  const shapes: ReadonlyArray<readonly [RegExp, string]> = [
    [/mfk_[A-Za-z0-9]+_[A-Za-z0-9_-]+/g, 'mfk_<api-key>'],
    [/mfq_[A-Za-z0-9_-]+/g, 'mfq_<api-key>'],
    [/\b[A-Z2-7]{4}(?:-[A-Z2-7]{4}){7}\b/g, '<fingerprint>'],
    [/\b[0-9A-Z]{4}(?:-[0-9A-Z]{4}){4}\b/g, '<enrollment-code>'],
    [/\b(job|rel)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, '$1-<id>'],
    [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, '<uuid>'],
    [/\breleased-[0-9a-f]{8}-r(\d+)-[0-9a-f]{12}\b/g, 'released-<id>-r$1-<id>'],
    [/\bmedfed-manifest-\d{8}-[0-9a-f]+\b/g, 'medfed-manifest-<kid>'],
    [/\bmedfed-coordinator-[0-9a-f]{8}\b/g, 'medfed-coordinator-<id>'],
    [/\bkey:[a-z0-9]{16}\b/g, 'key:<id>'],
    [/\bseq \d+\.\.\d+ \(\d+ entries\b/g, 'seq <n>..<n> (<n> entries'],
    [/\bleaf \d+ of \d+\b/g, 'leaf <n> of <n>'],
    [/\bleaf \d+\b/g, 'leaf <n>'],
    [/\b\d+ in range\b/g, '<n> in range'],
    [/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z/g, '<time>'],
    [/\b[0-9a-f]{64}\b/g, '<sha256>'],
    [/\b[0-9a-f]{16,63}…?/g, '<hex>'],
    [/(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g, '<thumbprint>'],
    [/(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{42,}={0,2}/g, '<base64>'],
    [/"(time|pid)":\d+/g, '"$1":<$1>'],
    [/\b\d+(?:\.\d+)? ?(ms|s)\b(?! ago)/g, '<n> $1'],
    [/\b\d+ ?s ago\b/g, '<n>s ago'],
    [/(?<![\d.])\d+\.\d+(?:e-?\d+)?(?![.\d])/g, '<n>'],
    [/\b\d+ bytes\b/g, '<n> bytes'],
  ];
  return (text) => {
    let t = text;
    for (const [value, name] of byLength) t = t.split(value).join(name);
    for (const [re, to] of shapes) t = t.replace(re, to);
    return t;
  };
}

// ------------------------------------------------------------------------------------------------
// running blocks

export interface PartyContext {
  /** The block's working directory. */
  readonly cwd: string;
  /** The environment it sees: the runbook's variables for this party, PATH with `medfed`. */
  readonly env: NodeJS.ProcessEnv;
}

export interface BlockResult {
  readonly exit: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
  readonly seconds: number;
  readonly timedOut: boolean;
}

const groups = new Set<number>();
let exitHookInstalled = false;

/** The last resort if the test process ends with blocks or services still running: SIGKILL their groups. */
function trackGroup(pid: number | undefined): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const g of groups) killGroup(g, 'SIGKILL');
    });
  }
  if (pid) groups.add(pid);
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // gone already
  }
}

function bash(code: string, context: PartyContext, stdio: 'pipe' | number): ChildProcess {
  const child = spawn('bash', ['--noprofile', '--norc', '-euo', 'pipefail', '-c', code], {
    cwd: context.cwd, env: context.env, detached: true, stdio: ['ignore', stdio, stdio],
  });
  trackGroup(child.pid);
  return child;
}

/**
 * Runs one command block with bash (`-euo pipefail`) in its own process group; stdout and stderr
 * are kept in the order they arrive. Resolves when it exits, or kills its group after `timeoutMs`
 * or when `abort` fires (a service it depends on died).
 */
export function runBlock(code: string, context: PartyContext, options: { timeoutMs: number; abort?: AbortSignal }): Promise<BlockResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = bash(code, context, 'pipe');
    let output = '';
    let timedOut = false;
    child.stdout!.on('data', (d: Buffer) => { output += d.toString('utf8'); });
    child.stderr!.on('data', (d: Buffer) => { output += d.toString('utf8'); });
    const stop = () => killGroup(child.pid!, 'SIGKILL');
    const timer = setTimeout(() => { timedOut = true; stop(); }, options.timeoutMs);
    options.abort?.addEventListener('abort', stop, { once: true });
    child.once('error', reject);
    child.once('close', (exit, signal) => {
      clearTimeout(timer);
      options.abort?.removeEventListener('abort', stop);
      groups.delete(child.pid!);
      resolve({ exit, signal, output, seconds: (Date.now() - started) / 1000, timedOut });
    });
  });
}

/** A daemon block, started in the background with its output in a file. */
export class ServiceBlock {
  readonly name: string;
  readonly logFile: string;
  readonly #child: ChildProcess;
  readonly #closed: Promise<{ exit: number | null; signal: NodeJS.Signals | null }>;
  #stopping = false;
  #exit: { exit: number | null; signal: NodeJS.Signals | null } | null = null;
  /** Fires when the service exits without being asked to. */
  readonly died = new AbortController();

  private constructor(name: string, logFile: string, child: ChildProcess) {
    this.name = name;
    this.logFile = logFile;
    this.#child = child;
    this.#closed = new Promise((resolve) => {
      child.once('close', (exit, signal) => {
        groups.delete(child.pid!);
        this.#exit = { exit, signal };
        if (!this.#stopping) this.died.abort(new Error(`${name} exited on its own (exit ${exit}, signal ${signal})`));
        resolve(this.#exit);
      });
    });
  }

  static start(name: string, code: string, context: PartyContext, logDir: string): ServiceBlock {
    const logFile = join(logDir, `${name.replace(/[^A-Za-z0-9._-]+/g, '-')}.log`);
    const out = createWriteStream(logFile, { flags: 'a' });
    const child = bash(code, context, 'pipe');
    child.stdout!.pipe(out, { end: false });
    child.stderr!.pipe(out, { end: false });
    child.once('close', () => out.end());
    return new ServiceBlock(name, logFile, child);
  }

  get exited(): { exit: number | null; signal: NodeJS.Signals | null } | null {
    return this.#exit;
  }

  /** The last lines of its output, for failure messages. */
  async tail(lines = 30): Promise<string> {
    const text = await readFile(this.logFile, 'utf8').catch(() => '');
    return text.split('\n').slice(-lines - 1).join('\n');
  }

  /** SIGTERM to its group (as systemd stops a unit), SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    this.#stopping = true;
    if (this.#exit) return;
    killGroup(this.#child.pid!, 'SIGTERM');
    const timer = setTimeout(() => killGroup(this.#child.pid!, 'SIGKILL'), graceMs);
    await this.#closed;
    clearTimeout(timer);
    killGroup(this.#child.pid!, 'SIGKILL'); // anything it left behind in its group
  }
}
