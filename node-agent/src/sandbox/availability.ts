import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { compiledTrainerPresent, installRoot } from './install-root.js';
import { resolveLimits } from './limits.js';
import { policyFor } from './build-policy.js';
import { bwrapArguments } from './policy.js';
import { resolveRunAs } from './run-as.js';
import { findExecutable } from './runtime-binds.js';
import { buildSeccompFilter } from './seccomp/filter.js';
import { hostSeccompArch } from './seccomp/syscalls.js';

export interface AvailabilityCheck {
  readonly name: 'platform' | 'node' | 'bubblewrap' | 'prlimit' | 'seccomp' | 'trainer' | 'namespaces';
  readonly ok: boolean;
  readonly detail: string;
  /** What to change on the host when the check fails. */
  readonly fix?: string;
}

export interface SandboxAvailability {
  readonly available: boolean;
  readonly checks: readonly AvailabilityCheck[];
  /** One paragraph for `medfed agent preflight` and the refusal message. */
  readonly summary: string;
  readonly bwrap: string | undefined;
  readonly prlimit: string | undefined;
  /** Whether this bubblewrap knows --disable-userns (0.8.0 and later). */
  readonly disableUserns: boolean;
}

const USERNS_FIX =
  'Allow unprivileged user namespaces: sysctl -w user.max_user_namespaces=15000 (and kernel.unprivileged_userns_clone=1 on Debian kernels); '
  + 'on Ubuntu 24.04+ also let bwrap create them under AppArmor (kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile for /usr/bin/bwrap with "userns,"). '
  + "In Docker or Kubernetes the default seccomp profile blocks unshare/clone with namespace flags: run the agent with the Localhost seccomp profile from docs/sandbox.md (section Kubernetes).";

/**
 * The oldest Node.js major that runs the sandboxed trainer: it starts under the permission model's
 * stable flags (--permission, --allow-fs-read, --allow-fs-write), which older releases reject as
 * "bad option" (Node.js 20 only knows --experimental-permission). 24 is the project's runtime.
 */
export const TRAINER_NODE_MAJOR = 24;

const NODE_FIX = `Run medfed through npm or npx (npm start, npx medfed ...) so that the Node.js ${TRAINER_NODE_MAJOR} that npm install provides runs it, or install Node.js ${TRAINER_NODE_MAJOR}.`;

function nodeTooOld(version: string): string {
  return `Node.js ${version} is too old for the sandboxed trainer: it needs >= ${TRAINER_NODE_MAJOR} (run through npm / npx so the project's Node ${TRAINER_NODE_MAJOR} is used)`;
}

/** Whether the Node.js running this process (the one the trainer runs on, inside the sandbox too) is recent enough. */
export function nodeRuntimeCheck(version: string = process.version): AvailabilityCheck {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1] ?? Number.NaN);
  if (major >= TRAINER_NODE_MAJOR) return { name: 'node', ok: true, detail: `Node.js ${version}` };
  return { name: 'node', ok: false, detail: nodeTooOld(version), fix: NODE_FIX };
}

/** Known failures of the probe and what to do about each, first match wins. */
const PROBE_DIAGNOSES: readonly { pattern: RegExp; check?: 'node'; detail: string; fix: string }[] = [
  // Before the namespace patterns: an old Node.js fails inside a sandbox that did start.
  { pattern: /bad option: --(permission|allow-fs-read|allow-fs-write|allow-child-process)\b/, check: 'node', detail: nodeTooOld(process.version), fix: NODE_FIX },
  { pattern: /No permissions to creat\w* new namespace|unprivileged_userns|setting up uid map|Creating new namespace failed|uid map: Permission denied/i, detail: 'user namespaces are blocked on this host', fix: USERNS_FIX },
  { pattern: /Operation not permitted/i, detail: 'a namespace or mount operation was refused (a container seccomp profile or LSM)', fix: USERNS_FIX },
  { pattern: /seccomp/i, detail: 'the seccomp filter could not be installed', fix: 'Use a kernel with seccomp filter support (CONFIG_SECCOMP_FILTER) and bubblewrap 0.3 or later.' },
  { pattern: /error while loading shared libraries/i, detail: 'a library of node or prlimit is not visible inside the sandbox', fix: 'Install ldd (libc-bin) so the agent can list the runtime libraries, or report the library named in the error.' },
];

export interface AvailabilityOptions {
  /** Probe again instead of returning this process's cached answer. */
  readonly refresh?: boolean;
  /** bubblewrap and prlimit binaries, when not on PATH (or to check a specific build). */
  readonly bwrap?: string;
  readonly prlimit?: string;
}

const cached = new Map<string, Promise<SandboxAvailability>>();

/**
 * Whether the training sandbox works on this host, by trying it: bubblewrap with every namespace,
 * the seccomp filter, prlimit and Node.js under the default limits. Cached per process; pass
 * `refresh` to probe again. Production agents refuse to train when `available` is false.
 */
export function sandboxAvailability(options: AvailabilityOptions = {}): Promise<SandboxAvailability> {
  const key = `${options.bwrap ?? ''}\0${options.prlimit ?? ''}`;
  let answer = cached.get(key);
  if (options.refresh || answer === undefined) {
    answer = Promise.resolve().then(() => probe(options));
    cached.set(key, answer);
  }
  return answer;
}

function located(explicit: string | undefined, name: string): string | undefined {
  if (explicit === undefined) return findExecutable(name);
  return existsSync(explicit) ? explicit : undefined;
}

function probe(options: AvailabilityOptions): SandboxAvailability {
  const checks: AvailabilityCheck[] = [];
  const add = (c: AvailabilityCheck) => checks.push(c);
  const linux = process.platform === 'linux';
  add({ name: 'platform', ok: linux, detail: `platform ${process.platform}/${process.arch}`, ...(linux ? {} : { fix: 'The sandbox needs Linux namespaces; run the agent on Linux.' }) });
  add(nodeRuntimeCheck());
  const bwrap = linux ? located(options.bwrap, 'bwrap') : undefined;
  let version = '';
  let disableUserns = false;
  if (bwrap) {
    version = spawnSync(bwrap, ['--version'], { encoding: 'utf8' }).stdout.trim();
    disableUserns = spawnSync(bwrap, ['--help'], { encoding: 'utf8' }).stdout.includes('--disable-userns');
  }
  add({ name: 'bubblewrap', ok: bwrap !== undefined, detail: bwrap ? `${bwrap} (${version})` : `bwrap not found (${options.bwrap ?? 'on PATH'})`, ...(bwrap ? {} : { fix: 'Install bubblewrap: apt-get install bubblewrap, dnf install bubblewrap or apk add bubblewrap.' }) });
  const prlimit = linux ? located(options.prlimit, 'prlimit') : undefined;
  add({ name: 'prlimit', ok: prlimit !== undefined, detail: prlimit ?? `prlimit not found (${options.prlimit ?? 'on PATH'})`, ...(prlimit ? {} : { fix: 'Install util-linux (it provides prlimit).' }) });
  const arch = hostSeccompArch();
  add({ name: 'seccomp', ok: arch !== undefined, detail: arch ? `filter for ${arch.name}` : `no filter for ${process.arch}`, ...(arch ? {} : { fix: 'Run the agent on x86_64 or aarch64.' }) });
  const compiled = compiledTrainerPresent();
  add({ name: 'trainer', ok: compiled, detail: compiled ? 'compiled trainer present' : `node-agent/dist/sandbox is missing under ${installRoot()}`, ...(compiled ? {} : { fix: 'Build the agent: npm run build.' }) });

  if (checks.every((c) => c.ok)) add(probeNamespaces(bwrap!, prlimit!, disableUserns));
  const available = checks.every((c) => c.ok);
  const failed = checks.filter((c) => !c.ok);
  const summary = available
    ? `sandbox available: ${checks.map((c) => c.detail).join('; ')}`
    : `sandbox NOT available: ${failed.map((c) => `${c.name}: ${c.detail}${c.fix ? `. Fix: ${c.fix}` : ''}`).join(' | ')}`;
  return { available, checks, summary, bwrap, prlimit, disableUserns };
}

/** Starts Node.js under the real policy (minus the bundle) and checks that it ran. */
function probeNamespaces(bwrap: string, prlimit: string, disableUserns: boolean): AvailabilityCheck {
  try {
    const seccomp = buildSeccompFilter();
    const policy = policyFor({
      sandboxed: true, limits: resolveLimits(), backend: 'cpu', prlimit, runAs: resolveRunAs(undefined), seccomp: seccomp.summary,
      disableUserns, trainerSource: undefined, preload: [], entry: undefined, scratchHost: undefined,
    });
    // The seccomp program arrives on stdin, which bubblewrap reads before the trainer starts.
    const args = bwrapArguments(policy, { status: 2, seccomp: 0 }).filter((a, i, all) => !(a === '--json-status-fd' || all[i - 1] === '--json-status-fd'));
    const runAs = resolveRunAs(undefined);
    const r = spawnSync(bwrap, args, { input: seccomp.program, encoding: 'utf8', timeout: 30_000, env: {}, ...(runAs ?? {}) });
    if (r.status === 0 && r.stdout.includes('medfed-sandbox-ok')) return { name: 'namespaces', ok: true, detail: 'bubblewrap started Node.js with every namespace, seccomp and the limits' };
    return diagnoseProbeFailure(r.status, `${r.stderr ?? ''}${r.error ? r.error.message : ''}`.trim());
  } catch (err) {
    return { name: 'namespaces', ok: false, detail: `the probe could not be prepared: ${(err as Error).message}`, fix: USERNS_FIX };
  }
}

/** Names the cause of a failed probe from its exit status and output (bubblewrap's or Node.js's). */
export function diagnoseProbeFailure(status: number | null, output: string): AvailabilityCheck {
  const diagnosis = PROBE_DIAGNOSES.find((d) => d.pattern.test(output));
  return { name: diagnosis?.check ?? 'namespaces', ok: false, detail: `${diagnosis?.detail ?? 'the probe failed'} (exit ${String(status)}: ${output.split('\n')[0]?.slice(0, 200) ?? ''})`, fix: diagnosis?.fix ?? USERNS_FIX };
}
