import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Db } from '../storage/db.js';

/** Where the leader can be reached: what a standby names in its `medfed-leader` hint. */
export interface LeaderAddress {
  readonly grpc: string | null;
  readonly rest: string | null;
}

export interface LeaseState {
  readonly holder: string | null;
  readonly epoch: number;
  readonly leader: LeaderAddress;
  /** Whether the lease is still valid by the database's clock. */
  readonly live: boolean;
}

/**
 * The leader lease: one row, taken when expired, renewed by its holder, with an epoch that grows on
 * every takeover (the fencing token). Every comparison uses the database's clock, so replicas'
 * clocks never have to agree.
 */
export class LeaderLease {
  readonly holder: string;
  readonly leaseSeconds: number;
  #epoch = 0;
  private readonly db: Db;

  constructor(db: Db, options: { leaseSeconds: number; holder?: string }) {
    this.db = db;
    this.leaseSeconds = options.leaseSeconds;
    this.holder = options.holder ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  }

  /** The fencing token this replica holds (0: none). */
  get epoch(): number {
    return this.#epoch;
  }

  /** Takes the lease if it is free or expired (or already ours); returns whether this replica leads now. */
  async tryAcquire(address: LeaderAddress): Promise<boolean> {
    const { rows } = await this.db.query<{ epoch: number }>(
      `UPDATE coordinator_lease
          SET holder = $1, epoch = epoch + 1, expires_at = now() + make_interval(secs => $2),
              leader_grpc = $3, leader_rest = $4, acquired_at = now()
        WHERE name = 'leader' AND (expires_at < now() OR holder IS NULL)
        RETURNING epoch`, [this.holder, this.leaseSeconds, address.grpc, address.rest]);
    if (!rows[0]) return false;
    this.#epoch = rows[0].epoch;
    return true;
  }

  /** Extends the lease; false when another replica took it (this one must stop writing at once). */
  async renew(): Promise<boolean> {
    if (this.#epoch === 0) return false;
    const { rowCount } = await this.db.query(
      `UPDATE coordinator_lease SET expires_at = now() + make_interval(secs => $3)
        WHERE name = 'leader' AND holder = $1 AND epoch = $2`, [this.holder, this.#epoch, this.leaseSeconds]);
    if (rowCount === 0) this.#epoch = 0;
    return rowCount > 0;
  }

  /** Gives the lease up (a clean shutdown): a standby takes over at once instead of after expiry. */
  async release(): Promise<void> {
    if (this.#epoch === 0) return;
    await this.db.query(
      `UPDATE coordinator_lease SET expires_at = '-infinity' WHERE name = 'leader' AND holder = $1 AND epoch = $2`,
      [this.holder, this.#epoch]);
    this.#epoch = 0;
  }

  async state(): Promise<LeaseState> {
    const { rows } = await this.db.query<{ holder: string | null; epoch: number; leader_grpc: string | null; leader_rest: string | null; live: boolean }>(
      `SELECT holder, epoch, leader_grpc, leader_rest, expires_at > now() AS live FROM coordinator_lease WHERE name = 'leader'`);
    const r = rows[0];
    return r
      ? { holder: r.holder, epoch: r.epoch, leader: { grpc: r.leader_grpc, rest: r.leader_rest }, live: r.live }
      : { holder: null, epoch: 0, leader: { grpc: null, rest: null }, live: false };
  }
}
