import { MedfedError } from '@medfed/proto';

/**
 * What the agent does after a failed call, decided by medfed's own error code (the `medfed-code`
 * trailer, or the code client.ts gives a call that ended without one), never by the gRPC status
 * alone: RESOURCE_EXHAUSTED is STORAGE_FULL (wait and retry) but also UPDATE_TOO_LARGE and
 * PRIVACY_BUDGET_EXCEEDED (retrying changes nothing).
 * - transient: the same call can succeed later unchanged; retried with backoff, a task until its deadline.
 * - fatal: a person must act (configuration, identity, suspension); the agent stops with what to do.
 * - final: this task fails (and is reported); the agent goes on with the next one.
 */
export type Disposition = 'transient' | 'fatal' | 'final';

export const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  // Set by client.ts when a call ends without a medfed code: the coordinator is down or restarting,
  // did not answer in time, or a proxy dropped the call.
  'COORDINATOR_UNAVAILABLE', 'COORDINATOR_TIMEOUT', 'COORDINATOR_CONNECTION_LOST',
  // The coordinator's own: its dependencies are briefly unavailable, or this replica is not the leader.
  'DATABASE_UNAVAILABLE', 'STORAGE_FULL', 'BLOB_STORE_UNAVAILABLE', 'NOT_LEADER',
  // The coordinator could not write its audit trail, so it refused the call (fail closed): nothing was done; retry.
  'AUDIT_WRITE_FAILED',
  // A token ran out mid-call; the client renews it and the retry carries a fresh one.
  'AUTH_TOKEN_EXPIRED', 'AUTH_STREAM_EXPIRED',
]);

const REENROLL = 're-enroll this site with a new code from an administrator (medfed agent enroll), then start the agent again';
const SUSPENDED = "the coordinator's administrator suspended this site; ask them to reinstate it, then start the agent again";
const REVOKED = "the coordinator's administrator revoked this site for good; it cannot enrol again under this id (ask them why; a returning hospital is registered under a new site id)";

/** The codes the agent stops on, each with what a person must do (it says nothing else could help). */
export const FATAL_CODES: ReadonlyMap<string, string> = new Map([
  ['CONFIG_INVALID', 'fix the agent configuration, then start the agent again'],
  ['AUTH_IDENTITY_MISSING', 'enroll this agent (medfed agent enroll --code <code from an administrator>), then start it again'],
  ['AUTH_IDENTITY_INVALID', "repair the identity files in the agent's state directory (mode 0600, not corrupt) or " + REENROLL],
  ['AUTH_SITE_NOT_ENROLLED', `the coordinator has no key for this site; ${REENROLL}`],
  ['AUTH_KEY_REVOKED', `this agent's key was revoked or replaced at the coordinator; ${REENROLL}`],
  ['AUTH_SITE_SUSPENDED', SUSPENDED],
  ['SITE_SUSPENDED', SUSPENDED],
  ['AUTH_SITE_REVOKED', REVOKED],
  ['SITE_REVOKED', REVOKED],
  ['UNKNOWN_SITE', 'the coordinator has no site with this id; check siteId, or ask its administrator to register the site'],
  ['PROTOCOL_VERSION_UNSUPPORTED', 'install the medfed release the message names (docs/operations.md, "Versions across sites"), then start the agent again'],
]);

export function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function dispositionOf(err: unknown): Disposition {
  const code = codeOf(err);
  if (code !== undefined && TRANSIENT_CODES.has(code)) return 'transient';
  if (code !== undefined && FATAL_CODES.has(code)) return 'fatal';
  return 'final';
}

/** Why the agent stopped: the original code and one line with the cause and what to do. */
export class AgentStopError extends MedfedError {}

export function stopErrorFor(err: unknown): AgentStopError {
  const code = codeOf(err) ?? 'UNEXPECTED';
  const cause = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').replace(/[.\s]+$/, '');
  const todo = FATAL_CODES.get(code);
  return new AgentStopError(code, todo ? `${cause}. The agent stopped: ${todo}.` : cause, undefined, { cause: err });
}

export interface BackoffOptions {
  /** The first retry waits up to this long (ms); default 250. */
  readonly baseMs?: number;
  /** No wait is longer (ms); default 15 s. */
  readonly capMs?: number;
  /** Uniform in [0, 1); tests fix it. */
  readonly random?: () => number;
}

/**
 * Capped exponential backoff with full jitter: uniform in [0, min(cap, base * 2^(attempt-1))), so
 * agents that lost the coordinator together do not come back in lock-step. `attempt` counts from 1.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? 250;
  const cap = options.capMs ?? 15_000;
  const ceiling = Math.min(cap, base * 2 ** Math.min(Math.max(0, attempt - 1), 30));
  return Math.floor((options.random ?? Math.random)() * ceiling);
}

/**
 * The wait before retrying a task, or null when the retry would not start before the task's
 * deadline (then the task is dropped). `deadlineMs` 0: the task has no deadline.
 */
export function retryDelayWithin(attempt: number, deadlineMs: number, nowMs: number, options: BackoffOptions = {}): number | null {
  const delay = backoffDelay(attempt, options);
  if (deadlineMs > 0 && nowMs + delay >= deadlineMs) return null;
  return delay;
}
