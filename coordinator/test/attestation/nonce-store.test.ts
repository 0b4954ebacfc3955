import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MemoryNonceStore, SqlNonceStore, type NonceStore } from '../../src/attestation/index.js';
import { BACKENDS, freshDatabase, type TestDb } from '../support/databases.js';

const T0 = new Date(Date.UTC(2025, 5, 1, 12));
const at = (ms: number) => new Date(T0.getTime() + ms);
const scope = { job: 'job-7', round: 3, site: 'site-a' };
const TTL = 10 * 60 * 1000;

const KINDS = ['memory', ...BACKENDS] as const;

describe.each(KINDS)('NonceStore on %s', (kind) => {
  let t: TestDb | undefined;
  let store: NonceStore;
  beforeAll(async () => {
    if (kind === 'memory') store = new MemoryNonceStore({ ttlMs: TTL });
    else {
      t = await freshDatabase(kind);
      store = new SqlNonceStore(t.db, { ttlMs: TTL });
    }
  });
  afterAll(async () => { await t?.drop(); });

  it('issues distinct 32-byte nonces that are consumed exactly once', async () => {
    const a = await store.issue(scope, T0);
    const b = await store.issue({ ...scope, site: 'site-b' }, T0);
    expect(a.nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.expiresAt.getTime()).toBe(T0.getTime() + TTL);
    expect(await store.consume(scope, a.nonce, at(1000))).toBe('ok');
    expect(await store.consume(scope, a.nonce, at(2000))).toBe('replayed');
    expect(await store.consume({ ...scope, site: 'site-b' }, b.nonce, at(1000))).toBe('ok');
  });

  it('calls a nonce of another scope unknown and leaves it usable by its own scope', async () => {
    const s = { ...scope, round: 10 };
    const { nonce } = await store.issue(s, T0);
    expect(await store.consume({ ...s, round: 11 }, nonce, at(10))).toBe('unknown');
    expect(await store.consume({ ...s, site: 'site-z' }, nonce, at(10))).toBe('unknown');
    expect(await store.consume(s, 'A'.repeat(43), at(10))).toBe('unknown');
    expect(await store.consume(s, nonce, at(20))).toBe('ok');
  });

  it('keeps training and key-release nonces in separate scopes: neither consumes nor supersedes the other', async () => {
    const training = { ...scope, round: 40 };
    const release = { ...training, purpose: 'key-release' as const };
    const t1 = await store.issue(training, T0);
    const k1 = await store.issue(release, at(10));
    // Issuing a key-release nonce did not make the training nonce stale, and the other way round.
    const t2 = await store.issue({ ...training, purpose: 'training' }, at(20));
    expect(await store.consume(release, t2.nonce, at(30))).toBe('unknown');
    expect(await store.consume(training, k1.nonce, at(30))).toBe('unknown');
    expect(await store.consume(training, t1.nonce, at(30))).toBe('stale');
    expect(await store.consume(release, k1.nonce, at(40))).toBe('ok');
    expect(await store.consume(training, t2.nonce, at(40))).toBe('ok');
  });

  it('makes an earlier nonce stale when a new one is issued, and any nonce stale after its ttl', async () => {
    const s = { ...scope, round: 20 };
    const first = await store.issue(s, T0);
    const second = await store.issue(s, at(1000));
    expect(await store.consume(s, first.nonce, at(2000))).toBe('stale');
    expect(await store.consume(s, second.nonce, at(1000 + TTL))).toBe('stale');
    const third = await store.issue(s, at(5000));
    expect(await store.consume(s, third.nonce, at(5000 + TTL - 1))).toBe('ok');
  });

  it('lets exactly one of many concurrent consumers win', async () => {
    const s = { ...scope, round: 30 };
    const { nonce } = await store.issue(s, T0);
    const verdicts = await Promise.all(Array.from({ length: 8 }, () => store.consume(s, nonce, at(100))));
    expect(verdicts.filter((v) => v === 'ok')).toHaveLength(1);
    expect(verdicts.filter((v) => v === 'replayed')).toHaveLength(7);
  });
});
