import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { TcpProxy } from '../support/tcp-proxy.js';

/** The fault suite's TCP proxy on its own: forwarding, pacing, cutting and refusing connections. */

let echo: Server;
let echoPort = 0;

beforeAll(async () => {
  echo = createServer((s) => {
    s.on('error', () => {}); // the proxy resets its side on pause()
    s.pipe(s);
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  echoPort = (echo.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise<void>((r) => echo.close(() => r()));
});

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Sends `bytes` and resolves once as many came back (or rejects when the connection ends first). */
function roundTrip(s: Socket, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    const onData = (d: Buffer) => {
      parts.push(d);
      n += d.length;
      if (n >= bytes.length) {
        s.off('data', onData);
        resolve(Buffer.concat(parts));
      }
    };
    s.on('data', onData);
    s.once('close', () => reject(new Error(`closed after ${n} bytes`)));
    s.write(bytes);
  });
}

const closed = (s: Socket) => new Promise<void>((r) => { if (s.destroyed) r(); else s.once('close', () => r()); });

describe('TcpProxy', () => {
  it('forwards bytes both ways and counts connections and bytes', async () => {
    const proxy = await TcpProxy.start({ target: { host: '127.0.0.1', port: echoPort } });
    try {
      const s = await open(proxy.port);
      s.on('error', () => {});
      const payload = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));
      expect((await roundTrip(s, payload)).equals(payload)).toBe(true);
      expect(proxy.stats).toMatchObject({ accepted: 1, open: 1, bytesUp: 100_000, bytesDown: 100_000, refused: 0 });
      s.end();
      await closed(s);
    } finally {
      await proxy.close();
    }
  });

  it('paces what it forwards at the throttled rate, in one direction or both, and lets go at null', async () => {
    const proxy = await TcpProxy.start({ target: { host: '127.0.0.1', port: echoPort } });
    try {
      const s = await open(proxy.port);
      s.on('error', () => {});
      proxy.throttle(16 * 1024, 'up');
      let t = Date.now();
      await roundTrip(s, Buffer.alloc(12 * 1024, 1));
      expect(Date.now() - t).toBeGreaterThanOrEqual(600); // 12 KiB at 16 KiB/s up, full speed down
      expect(Date.now() - t).toBeLessThan(3000);
      proxy.throttle(16 * 1024);
      t = Date.now();
      await roundTrip(s, Buffer.alloc(8 * 1024, 2));
      expect(Date.now() - t).toBeGreaterThanOrEqual(400); // 8 KiB at 16 KiB/s each way (the two directions overlap)
      proxy.throttle(null, 'up');
      t = Date.now();
      await roundTrip(s, Buffer.alloc(8 * 1024, 2));
      expect(Date.now() - t).toBeGreaterThanOrEqual(400); // still paced on the way back
      proxy.throttle(null);
      t = Date.now();
      await roundTrip(s, Buffer.alloc(256 * 1024, 3));
      expect(Date.now() - t).toBeLessThan(1000);
      expect(() => proxy.throttle(0)).toThrow();
      s.end();
      await closed(s);
    } finally {
      await proxy.close();
    }
  });

  it('pause() cuts every open connection and refuses new ones until resume()', async () => {
    const proxy = await TcpProxy.start({ target: { host: '127.0.0.1', port: echoPort } });
    try {
      const a = await open(proxy.port);
      a.on('error', () => {});
      await roundTrip(a, Buffer.from('hello'));
      proxy.pause();
      await closed(a);
      expect(proxy.stats).toMatchObject({ open: 0, dropped: 1 });
      const b = await open(proxy.port).catch(() => null);
      b?.on('error', () => {});
      if (b) await expect(roundTrip(b, Buffer.from('refused?'))).rejects.toThrow(/closed after 0 bytes/);
      expect(proxy.stats.refused).toBe(1);
      proxy.resume();
      const c = await open(proxy.port);
      c.on('error', () => {});
      expect((await roundTrip(c, Buffer.from('again'))).toString()).toBe('again');
      expect(proxy.stats).toMatchObject({ accepted: 2, open: 1 });
    } finally {
      await proxy.close();
    }
    expect(proxy.stats.open).toBe(0);
  });

  it('refuses connections beyond maxConnections', async () => {
    const proxy = await TcpProxy.start({ target: { host: '127.0.0.1', port: echoPort }, maxConnections: 1 });
    try {
      const a = await open(proxy.port);
      a.on('error', () => {});
      await roundTrip(a, Buffer.from('one'));
      const b = await open(proxy.port).catch(() => null);
      b?.on('error', () => {});
      if (b) await expect(roundTrip(b, Buffer.from('two'))).rejects.toThrow();
      expect(proxy.stats).toMatchObject({ accepted: 1, refused: 1 });
    } finally {
      await proxy.close();
    }
  });
});
