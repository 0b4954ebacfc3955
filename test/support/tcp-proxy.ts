import { createServer, connect, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A loopback TCP proxy for fault injection (test/faults): forwards every accepted connection to one
 * target, byte for byte (TLS and HTTP/2 pass through untouched), and can
 *  - pause(): destroy every open connection (RST) and reset every new one until resume(): the peer
 *    behind it looks unreachable (a database that went away, a network partition);
 *  - throttle(bytesPerSecond): pace the bytes it forwards, in both directions by default, so that a
 *    transfer of a known size takes a known time (a kill can then land inside it).
 *
 * Bounded: at most `maxConnections` at once (more are reset), and at most one chunk per direction and
 * connection is held (the source socket is paused while its chunk is paced and written). close()
 * destroys everything and resolves once the listener is closed.
 */
export interface TcpProxyOptions {
  readonly target: { readonly host: string; readonly port: number };
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (a free port). */
  readonly port?: number;
  /** Default 256. */
  readonly maxConnections?: number;
}

export type Direction = 'up' | 'down' | 'both';

export interface TcpProxyStats {
  /** Connections accepted and forwarded since start. */
  readonly accepted: number;
  /** Connections reset on arrival (paused, or over maxConnections). */
  readonly refused: number;
  /** Open forwarded connections now. */
  readonly open: number;
  /** Connections destroyed by pause(). */
  readonly dropped: number;
  /** Bytes forwarded client -> target, and target -> client. */
  readonly bytesUp: number;
  readonly bytesDown: number;
}

/** Paces bytes at a rate (null: unlimited); one per direction, shared by every connection. */
class Pacer {
  rate: number | null = null;
  #next = 0;

  /** Resolves when `n` more bytes may pass; a rate change applies to the next call. */
  async take(n: number): Promise<void> {
    const rate = this.rate;
    if (rate === null) return;
    const now = Date.now();
    const start = Math.max(now, this.#next);
    this.#next = start + (n / rate) * 1000;
    const wait = this.#next - now;
    if (wait > 0) await sleep(wait);
  }

  reset(): void {
    this.#next = 0;
  }
}

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
}

export class TcpProxy {
  readonly host: string;
  readonly target: { readonly host: string; readonly port: number };
  #port = 0;
  readonly #server: Server;
  readonly #pairs = new Set<Pair>();
  readonly #max: number;
  readonly #up = new Pacer();
  readonly #down = new Pacer();
  #paused = false;
  #closed = false;
  #accepted = 0;
  #refused = 0;
  #dropped = 0;
  #bytesUp = 0;
  #bytesDown = 0;

  private constructor(options: TcpProxyOptions) {
    this.host = options.host ?? '127.0.0.1';
    this.target = options.target;
    this.#max = options.maxConnections ?? 256;
    this.#server = createServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket) => this.#onConnection(socket));
  }

  static async start(options: TcpProxyOptions): Promise<TcpProxy> {
    const proxy = new TcpProxy(options);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(options.port ?? 0, proxy.host, () => {
        proxy.#server.off('error', reject);
        resolve();
      });
    });
    const address = proxy.#server.address();
    if (address === null || typeof address === 'string') throw new Error('tcp proxy: no port');
    proxy.#port = address.port;
    return proxy;
  }

  get port(): number {
    return this.#port;
  }

  /** host:port to give clients. */
  get address(): string {
    return `${this.host}:${this.#port}`;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get stats(): TcpProxyStats {
    return {
      accepted: this.#accepted, refused: this.#refused, open: this.#pairs.size, dropped: this.#dropped,
      bytesUp: this.#bytesUp, bytesDown: this.#bytesDown,
    };
  }

  /** Destroys every open connection and resets new ones until resume(). */
  pause(): void {
    this.#paused = true;
    for (const pair of [...this.#pairs]) {
      this.#dropped++;
      this.#destroy(pair);
    }
  }

  resume(): void {
    this.#paused = false;
  }

  /** Paces forwarded bytes at `bytesPerSecond` (null: full speed) in `direction` (default both). */
  throttle(bytesPerSecond: number | null, direction: Direction = 'both'): void {
    if (bytesPerSecond !== null && !(bytesPerSecond > 0)) throw new Error(`tcp proxy: throttle needs a positive rate or null, not ${bytesPerSecond}`);
    for (const pacer of direction === 'both' ? [this.#up, this.#down] : direction === 'up' ? [this.#up] : [this.#down]) {
      pacer.rate = bytesPerSecond;
      pacer.reset();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#paused = true;
    for (const pair of [...this.#pairs]) this.#destroy(pair);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #onConnection(client: Socket): void {
    if (this.#paused || this.#closed || this.#pairs.size >= this.#max) {
      this.#refused++;
      client.on('error', () => {});
      client.resetAndDestroy();
      return;
    }
    this.#accepted++;
    const upstream = connect({ host: this.target.host, port: this.target.port, allowHalfOpen: true });
    upstream.pause();
    const pair: Pair = { client, upstream };
    this.#pairs.add(pair);
    const fail = () => this.#destroy(pair);
    client.on('error', fail);
    upstream.on('error', fail);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    upstream.once('connect', () => {
      const up = this.#pump(pair, client, upstream, this.#up, (n) => { this.#bytesUp += n; });
      const down = this.#pump(pair, upstream, client, this.#down, (n) => { this.#bytesDown += n; });
      // A side that closed: what is still being paced toward the other side is delivered first.
      const closed = () => void Promise.all([up.drained(), down.drained()]).then(() => this.#destroy(pair));
      client.once('close', closed);
      upstream.once('close', closed);
      client.resume();
      upstream.resume();
    });
  }

  /**
   * Forwards `from` to `to` one chunk at a time, paced; `from` stays paused while its chunk is in
   * flight, so at most one chunk per direction is held. `from`'s end is passed on after that chunk.
   */
  #pump(pair: Pair, from: Socket, to: Socket, pacer: Pacer, count: (n: number) => void): { drained: () => Promise<void> } {
    let pending: Promise<void> = Promise.resolve();
    const forward = async (chunk: Buffer) => {
      // Pieces small enough that a pace of a few KB/s still moves every fraction of a second.
      const piece = pacer.rate === null ? chunk.length : Math.max(256, Math.floor(pacer.rate / 20));
      for (let at = 0; at < chunk.length; at += piece) {
        const part = chunk.subarray(at, Math.min(chunk.length, at + piece));
        await pacer.take(part.length);
        if (!this.#pairs.has(pair) || to.destroyed) return;
        count(part.length);
        if (!to.write(part)) {
          await new Promise<void>((resolve) => {
            const done = () => { to.off('drain', done); to.off('close', done); resolve(); };
            to.on('drain', done);
            to.on('close', done);
          });
        }
      }
    };
    from.on('data', (chunk: Buffer) => {
      from.pause();
      pending = pending.then(() => forward(chunk)).then(() => {
        if (this.#pairs.has(pair) && !from.destroyed) from.resume();
      }, () => this.#destroy(pair));
    });
    from.on('end', () => {
      pending = pending.then(() => {
        if (!to.destroyed) to.end();
      });
    });
    return { drained: () => pending };
  }

  #destroy(pair: Pair): void {
    if (!this.#pairs.delete(pair)) return;
    pair.client.resetAndDestroy();
    pair.upstream.resetAndDestroy();
  }
}
