/**
 * The storage seam: one small interface over PostgreSQL (`pg`) and embedded PGlite, so that the
 * same SQL and the same migrations serve a hospital's production database and the one-command demo.
 */
export interface QueryResult<R> {
  readonly rows: R[];
  readonly rowCount: number;
}

export interface Queryable {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
}

export interface Db extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs `fn` in one transaction: it commits when `fn` resolves and rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` on one dedicated connection outside any transaction (session-level advisory locks
   * need that; a pool would hand each statement to another connection).
   */
  session<T>(fn: (s: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
