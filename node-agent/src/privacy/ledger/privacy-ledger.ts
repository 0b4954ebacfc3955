import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isRdpVector, rdpVectorEpsilon, type RdpVector } from '../accountant/rdp-vector.js';
import { PrivacyError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { remainingOf, spentOf, withinBudget } from './compose-spend.js';
import { withFileLock } from './file-lock.js';
import { emptyLedger, isBudget, parseLedger, type LedgerEntry, type LedgerFile, type PrivacyBudget } from './ledger-file.js';

export interface PrivacyLedgerOptions {
  /** The agent's state directory; ledgers live in `<stateDir>/privacy-ledger/<dataset>.json`. */
  readonly stateDir: string;
  readonly dataset: string;
  readonly lockTimeoutMs?: number;
  readonly staleLockMs?: number;
  /**
   * Spends of every ledger instance over the same file in this process go through one queue
   * (default). Turning it off leaves only the cross-process lock file, which must then do all
   * the work; tests use that to race instances on the lock alone.
   */
  readonly inProcessQueue?: boolean;
  readonly now?: () => Date;
}

export interface SpendRequest {
  /** Why the budget is spent, shown to stewards and auditors (e.g. "stats: mean age by ward"). */
  readonly purpose: string;
  readonly job?: string;
  /** Basic accounting: the release's epsilon (> 0) and delta (>= 0, default 0). */
  readonly epsilon?: number;
  readonly delta?: number;
  /** RDP accounting (training): the round's RDP curve and the delta (> 0) to convert it at. */
  readonly rdp?: RdpVector;
}

/** What `spendOnce` answers: the entry and where it stands in the ledger. */
export interface SpendOnceResult {
  readonly entry: LedgerEntry;
  /** False when the id had been charged before: nothing was spent by this call. */
  readonly charged: boolean;
  /**
   * What the dataset had spent without and with this entry. Entries are only ever appended, so a
   * replay of the same id answers with the same figures as the first charge.
   */
  readonly spentBefore: PrivacyBudget;
  readonly spentWith: PrivacyBudget;
  readonly budget: PrivacyBudget | null;
}

/** What a steward or auditor sees. */
export interface LedgerSummary {
  readonly dataset: string;
  readonly budget: PrivacyBudget | null;
  readonly spent: PrivacyBudget;
  readonly remaining: PrivacyBudget;
  readonly entries: readonly Omit<LedgerEntry, 'rdp'>[];
}

const DATASET_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Spend chains per ledger file, shared by every instance in this process. */
const queues = new Map<string, Promise<unknown>>();

/**
 * One dataset's (epsilon, delta) budget and every DP release charged to it, persisted in the agent's
 * state directory (mode 0600, atomic replace). Each spend re-reads the file under an exclusive lock,
 * checks the budget and appends, so concurrent requests from any number of instances and processes
 * can never overspend, and a restarted agent continues where it stopped.
 */
export class PrivacyLedger {
  readonly dataset: string;
  readonly path: string;
  readonly #lockPath: string;
  readonly #options: PrivacyLedgerOptions;

  constructor(options: PrivacyLedgerOptions) {
    if (typeof options.dataset !== 'string' || !DATASET_ID.test(options.dataset) || /^\.+$/.test(options.dataset)) {
      throw new PrivacyError(
        'PRIVACY_LEDGER_INVALID_DATASET',
        `dataset id ${JSON.stringify(options.dataset)} must be 1-128 letters, digits, '.', '_' or '-' (and not only dots)`,
      );
    }
    this.dataset = options.dataset;
    this.path = resolve(join(options.stateDir, 'privacy-ledger', `${options.dataset}.json`));
    this.#lockPath = `${this.path}.lock`;
    this.#options = options;
  }

  /** Sets (or changes) the dataset's total budget. A budget below what is spent leaves nothing to spend. */
  async setBudget(budget: PrivacyBudget): Promise<LedgerSummary> {
    if (!isBudget(budget)) {
      throw new PrivacyError(
        'PRIVACY_INVALID_PARAMETER',
        `a budget needs epsilon >= 0 and 0 <= delta < 1; got ${JSON.stringify(budget)}`,
        { parameter: 'budget' },
      );
    }
    return this.#exclusive(async () => {
      const file = await this.#load();
      const next: LedgerFile = { ...file, budget: { epsilon: budget.epsilon, delta: budget.delta } };
      await this.#store(next);
      return summarise(next);
    });
  }

  /**
   * Charges one release. Refused with PRIVACY_BUDGET_EXCEEDED (naming what remains) when it would
   * take the spent total past the budget, and with PRIVACY_BUDGET_NOT_SET when there is no budget.
   */
  async spend(request: SpendRequest): Promise<LedgerEntry> {
    const draft = this.#draftEntry(request);
    return this.#exclusive(async () => {
      const file = await this.#load();
      const entry: LedgerEntry = { ...draft, id: randomUUID(), at: this.#now().toISOString() };
      await this.#append(file, entry);
      return entry;
    });
  }

  /**
   * Charges a release at most once per `id` (an idempotency key such as `training:<job>:<round>:...`):
   * when an entry with this id exists, it is returned and nothing is spent, decided in the same
   * locked read-modify-write as the charge, so a retried or re-run task can never charge twice even
   * if whatever recorded the first charge elsewhere was lost. The existing entry wins even when the
   * request differs (the caller puts everything that must not be charged twice into the id).
   */
  async spendOnce(request: SpendRequest & { readonly id: string }): Promise<SpendOnceResult> {
    if (typeof request.id !== 'string' || request.id.length === 0 || request.id.length > 300) {
      throw invalid('id', 'a non-empty text of at most 300 characters', request.id);
    }
    const draft = this.#draftEntry(request);
    return this.#exclusive(async () => {
      const file = await this.#load();
      const index = file.entries.findIndex((e) => e.id === request.id);
      if (index >= 0) return positionOf(file, index, false);
      const entry: LedgerEntry = { ...draft, id: request.id, at: this.#now().toISOString() };
      const next = await this.#append(file, entry);
      return positionOf(next, next.entries.length - 1, true);
    });
  }

  /** Appends under the lock held by the caller, after the budget check; returns the stored file. */
  async #append(file: LedgerFile, entry: LedgerEntry): Promise<LedgerFile> {
    if (file.budget === null) {
      throw new PrivacyError(
        'PRIVACY_BUDGET_NOT_SET',
        `dataset "${this.dataset}" has no privacy budget; a site steward must set one (epsilon, delta) before any DP release`,
        { dataset: this.dataset },
      );
    }
    const entries = [...file.entries, entry];
    const before = spentOf(file.entries);
    const after = spentOf(entries);
    if (!withinBudget(after, file.budget)) {
      const left = remainingOf(before, file.budget);
      throw new PrivacyError(
        'PRIVACY_BUDGET_EXCEEDED',
        `dataset "${this.dataset}": this release needs epsilon ${fmt(after.epsilon - before.epsilon)} and delta ${fmt(after.delta - before.delta)}, ` +
          `but only epsilon ${fmt(left.epsilon)} and delta ${fmt(left.delta)} remain of the budget ` +
          `(epsilon ${fmt(file.budget.epsilon)}, delta ${fmt(file.budget.delta)}); ask the site steward, or release with less`,
        { dataset: this.dataset, remaining: left, budget: file.budget },
      );
    }
    const next: LedgerFile = { ...file, entries };
    await this.#store(next);
    return next;
  }

  /** Budget, spent, remaining and the entries, for stewards and auditors. */
  async read(): Promise<LedgerSummary> {
    return summarise(await this.#load());
  }

  #draftEntry(request: SpendRequest): Omit<LedgerEntry, 'id' | 'at'> {
    const purpose = request.purpose;
    if (typeof purpose !== 'string' || purpose.trim() === '' || purpose.length > 500) {
      throw invalid('purpose', 'a non-empty text of at most 500 characters', purpose);
    }
    if (request.job !== undefined && (typeof request.job !== 'string' || request.job.length > 200)) {
      throw invalid('job', 'a text of at most 200 characters', request.job);
    }
    const job = request.job === undefined ? {} : { job: request.job };
    if (request.rdp !== undefined) {
      if (!isRdpVector(request.rdp)) throw invalid('rdp', 'an RDP vector {orders > 1, rdp >= 0}', request.rdp);
      const delta = request.delta;
      if (typeof delta !== 'number' || !(delta > 0 && delta < 1)) throw invalid('delta', 'in (0, 1) for an RDP spend', delta);
      const rdp: RdpVector = { orders: [...request.rdp.orders], rdp: [...request.rdp.rdp] };
      const { epsilon } = rdpVectorEpsilon(rdp, delta);
      return { purpose, ...job, epsilon, delta, accounting: 'rdp', rdp };
    }
    const { epsilon, delta = 0 } = request;
    if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon <= 0) throw invalid('epsilon', 'a finite number > 0', epsilon);
    if (typeof delta !== 'number' || !(delta >= 0 && delta < 1)) throw invalid('delta', 'in [0, 1)', delta);
    return { purpose, ...job, epsilon, delta, accounting: 'basic' };
  }

  #now(): Date {
    return this.#options.now?.() ?? new Date();
  }

  /** In-process queue (optional) around the cross-process lock. */
  async #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    await mkdir(resolve(this.path, '..'), { recursive: true, mode: 0o700 });
    const locked = () =>
      withFileLock(this.#lockPath, fn, {
        ...(this.#options.lockTimeoutMs === undefined ? {} : { timeoutMs: this.#options.lockTimeoutMs }),
        ...(this.#options.staleLockMs === undefined ? {} : { staleMs: this.#options.staleLockMs }),
      });
    if (this.#options.inProcessQueue === false) return locked();
    const previous = queues.get(this.path) ?? Promise.resolve();
    const run = previous.then(locked, locked);
    const tail = run.catch(() => undefined);
    queues.set(this.path, tail);
    void tail.then(() => {
      if (queues.get(this.path) === tail) queues.delete(this.path);
    });
    return run;
  }

  async #load(): Promise<LedgerFile> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return emptyLedger(this.dataset);
      throw error;
    }
    return parseLedger(text, this.path, this.dataset);
  }

  async #store(file: LedgerFile): Promise<void> {
    await writeFileAtomic(this.path, `${JSON.stringify(file, null, 2)}\n`, 0o600);
    await chmod(this.path, 0o600);
  }
}

function positionOf(file: LedgerFile, index: number, charged: boolean): SpendOnceResult {
  return {
    entry: file.entries[index]!, charged, budget: file.budget,
    spentBefore: spentOf(file.entries.slice(0, index)), spentWith: spentOf(file.entries.slice(0, index + 1)),
  };
}

function summarise(file: LedgerFile): LedgerSummary {
  const spent = spentOf(file.entries);
  const remaining = file.budget === null ? { epsilon: 0, delta: 0 } : remainingOf(spent, file.budget);
  const entries = file.entries.map(({ rdp: _rdp, ...rest }) => rest);
  return { dataset: file.dataset, budget: file.budget, spent, remaining, entries };
}

function invalid(name: string, expected: string, value: unknown): PrivacyError {
  return new PrivacyError('PRIVACY_INVALID_PARAMETER', `spend ${name} must be ${expected}; got ${JSON.stringify(value)}`, { parameter: name });
}

function fmt(x: number): string {
  return Number(x.toPrecision(6)).toString();
}
