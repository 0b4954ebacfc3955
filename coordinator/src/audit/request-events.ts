import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { AuditEventInput } from '@medfed/proto/audit/index';
import type { Db, Queryable } from '../storage/db.js';
import { appendInTransaction } from './store/append.js';
import type { AuditWriter } from './writer.js';

/** The rule the federation core writes on lifecycle events; a request's own policy rule replaces it. */
export const LIFECYCLE_RULE = 'federation:lifecycle';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const CODE = /^[A-Z][A-Z0-9_]{1,63}$/;

/**
 * One request's audit state. A request yields exactly one event: its authorization decision when the
 * decision is a refusal, the action's own event when the handler records one (carrying this request
 * id and the deciding policy rule), or else the allow decision, written once the outcome is known.
 */
export interface RequestScope {
  readonly requestId: string;
  /** The policy rule that admitted the request (`policy:v1/jobs.create`), once decided. */
  rule: string | null;
  /** The allow decision, held back until the request ends (null: refused, open, or not yet decided). */
  decision: AuditEventInput | null;
  /** Events the action recorded through the writer (durable once counted). */
  committed: number;
  /** Events the action wrote inside its own transaction (durable only if that transaction committed). */
  readonly inTransaction: { seq: number; hash: string }[];
  /** Decision events already on their way (refusals): answered only once durable. */
  readonly writes: Promise<unknown>[];
}

/** How the request ended, as the transport saw it. */
export interface RequestResult {
  readonly ok: boolean;
  /** HTTP status or gRPC status code. */
  readonly status: number;
  readonly code: string | null;
}

/** The recorder shape the federation core writes through (see federation/audit-recorder.ts). */
export interface ScopedRecorder {
  inTransaction(tx: Queryable, event: AuditEventInput): Promise<void>;
  append(event: AuditEventInput): Promise<void>;
}

const STORE = new AsyncLocalStorage<RequestScope>();
const BY_KEY = new WeakMap<object, RequestScope>();

/** The scope of the request whose handler is running, if any. */
export function currentRequestScope(): RequestScope | undefined {
  return STORE.getStore();
}

/** Runs `fn` (a request handler) inside `scope`: events it records carry the request id and rule. */
export function runInRequestScope<T>(scope: RequestScope | undefined, fn: () => T): T {
  return scope ? STORE.run(scope, fn) : fn();
}

/** Attaches a scope to a per-call object (gRPC metadata) so the handler can find it. */
export function bindRequestScope(key: object, scope: RequestScope): void {
  BY_KEY.set(key, scope);
}

export function requestScopeOf(key: object): RequestScope | undefined {
  return BY_KEY.get(key);
}

/**
 * The per-request side of the audit trail, shared by REST and gRPC: assigns request ids, holds each
 * request's allow decision until the end, tags the action's own events with the request id and
 * rule, and at the end writes the decision only when the action recorded nothing (outcome `failure`
 * when the request failed after authorization). Writing is awaited: a request whose event cannot be
 * made durable is answered with an error (fail closed).
 */
export class RequestEvents {
  readonly #db: Db;
  readonly #writer: AuditWriter;
  readonly #live = new Map<string, RequestScope>();

  constructor(db: Db, writer: AuditWriter) {
    this.#db = db;
    this.#writer = writer;
  }

  /** A request id: the caller's `x-request-id` when well-formed and not in use, else a fresh UUID. */
  requestId(requested: unknown): string {
    return typeof requested === 'string' && REQUEST_ID.test(requested) && !this.#live.has(requested) ? requested : randomUUID();
  }

  open(requestId: string): RequestScope {
    const scope: RequestScope = { requestId, rule: null, decision: null, committed: 0, inTransaction: [], writes: [] };
    this.#live.set(requestId, scope);
    return scope;
  }

  close(scope: RequestScope): void {
    if (this.#live.get(scope.requestId) === scope) this.#live.delete(scope.requestId);
  }

  /**
   * Takes an authorization decision for a live request: an allow is held back (the action's own
   * event, or the decision at the end, records it); a refusal is written now and awaited at the end.
   * Returns false when the request is unknown here (the caller records the decision itself).
   */
  claimDecision(requestId: string | null, effect: 'allow' | 'deny', event: AuditEventInput): boolean {
    const scope = requestId ? this.#live.get(requestId) : undefined;
    if (!scope) return false;
    if (effect === 'allow') {
      scope.decision = event;
      scope.rule = event.rule;
    } else {
      scope.decision = null;
      const write = this.#writer.append(event);
      write.catch(() => {}); // observed in settle
      scope.writes.push(write);
    }
    return true;
  }

  /** Wraps the federation core's recorder so that events recorded inside a request belong to it. */
  recorder(): ScopedRecorder {
    return {
      inTransaction: async (tx, event) => {
        const scope = currentRequestScope();
        const entry = await appendInTransaction(tx, tagged(scope, event));
        if (scope && belongs(event)) scope.inTransaction.push({ seq: entry.seq, hash: entry.hash });
      },
      append: async (event) => {
        const scope = currentRequestScope();
        await this.#writer.append(tagged(scope, event));
        if (scope && belongs(event)) scope.committed += 1;
      },
    };
  }

  /**
   * Ends a request: waits for its refusal to be durable, or writes the held-back allow decision
   * unless the action recorded its own event. Throws when the event cannot be written.
   */
  async settle(scope: RequestScope, result: RequestResult): Promise<void> {
    await Promise.all(scope.writes);
    const decision = scope.decision;
    if (!decision) return;
    scope.decision = null;
    if (scope.committed > 0) return;
    if (scope.inTransaction.length > 0 && (result.ok || await this.#anyCommitted(scope.inTransaction))) return;
    await this.#writer.append(settledDecision(decision, result));
  }

  async #anyCommitted(written: readonly { seq: number; hash: string }[]): Promise<boolean> {
    const { rows } = await this.#db.query<{ n: string | number }>(
      'SELECT count(*) AS n FROM audit_events WHERE seq = ANY($1::bigint[]) AND hash = ANY($2::text[])',
      [written.map((w) => w.seq), written.map((w) => w.hash)]);
    return Number(rows[0]?.n ?? 0) > 0;
  }
}

/** System events (round lifecycle a request happens to trigger) are not the request's own. */
function belongs(event: AuditEventInput): boolean {
  return event.role !== 'system';
}

function tagged(scope: RequestScope | undefined, event: AuditEventInput): AuditEventInput {
  if (!scope || !belongs(event)) return event;
  return {
    ...event,
    request_id: event.request_id ?? scope.requestId,
    rule: event.rule === LIFECYCLE_RULE && scope.rule ? scope.rule : event.rule,
  };
}

/** The held-back allow decision, with the request's result: `failure` when it failed after authorization. */
export function settledDecision(decision: AuditEventInput, result: RequestResult): AuditEventInput {
  const details = { ...(decision.details ?? {}) } as Record<string, unknown>;
  if (Number.isSafeInteger(result.status) && result.status >= 0) details.status = result.status;
  if (!result.ok && result.code && CODE.test(result.code)) details.reason = result.code;
  return { ...decision, outcome: result.ok ? 'success' : 'failure', details: details as AuditEventInput['details'] };
}


/** For actions that write their event directly (not through the recorder): marks it as the request's own. */
export function noteRequestEvent(event: Pick<AuditEventInput, 'request_id'>, durable: 'committed' | { seq: number; hash: string }): void {
  const scope = currentRequestScope();
  if (!scope || event.request_id !== scope.requestId) return;
  if (durable === 'committed') scope.committed += 1;
  else scope.inTransaction.push(durable);
}
