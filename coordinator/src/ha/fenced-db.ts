import type { Db, Queryable } from '../storage/db.js';
import { StorageError } from '../storage/errors.js';

/** A statement that only reads: it needs no fence (a stale leader reading is harmless). */
const READ_ONLY = /^\s*(SELECT|SHOW|EXPLAIN)\b/i;
const LOCKING_READ = /\bFOR\s+(UPDATE|SHARE|NO\s+KEY\s+UPDATE|KEY\s+SHARE)\b/i;

/** What the fence compares against: the epoch this replica took the lease with (0: none). */
export interface FenceToken {
  readonly epoch: number;
  readonly holder: string;
}

/**
 * The one place where the leader's writes are fenced: every transaction first re-reads the lease
 * row FOR SHARE and refuses (NOT_LEADER) unless this replica still holds the epoch it was elected
 * with. FOR SHARE makes a takeover (an UPDATE of that row) wait for the transactions already past
 * the check, and every later transaction of the deposed leader sees the new epoch: no write of a
 * stale leader can land after a standby took over, whichever pooled connection it uses. (A session
 * advisory lock could not give this: it fences only the one connection that holds it.)
 * A write outside a transaction runs in a fenced transaction of its own.
 */
export function fencedDb(db: Db, token: () => FenceToken): Db {
  const checkFence = async (tx: Queryable) => {
    const { epoch, holder } = token();
    const { rows } = await tx.query<{ epoch: number; holder: string | null }>(
      `SELECT epoch, holder FROM coordinator_lease WHERE name = 'leader' FOR SHARE`);
    const row = rows[0];
    if (epoch === 0 || !row || row.epoch !== epoch || row.holder !== holder) {
      throw new StorageError('NOT_LEADER', `this coordinator replica no longer holds the leader lease (epoch ${epoch}, now ${row?.epoch ?? 'none'}); nothing was written`);
    }
  };
  const transaction = <T>(fn: (tx: Queryable) => Promise<T>): Promise<T> => db.transaction(async (tx) => {
    await checkFence(tx);
    return fn(tx);
  });
  return {
    kind: db.kind,
    query: <R,>(text: string, params?: readonly unknown[]) => (READ_ONLY.test(text) && !LOCKING_READ.test(text)
      ? db.query<R>(text, params)
      : transaction((tx) => tx.query<R>(text, params))),
    transaction,
    // A session serves advisory locks and reads (migrations run on the raw database, before the fence exists).
    session: (fn) => db.session(fn),
    close: () => db.close(),
  };
}
