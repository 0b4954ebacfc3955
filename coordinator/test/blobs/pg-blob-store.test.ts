import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { codeOf } from '../../../test/support/error-code.js';
import { BACKENDS, TEST_PG_URL, freshDatabase, type TestDb } from '../support/databases.js';
import { BlobStoreError, PgBlobStore } from '../../src/blobs/index.js';
import { openPostgres } from '../../src/storage/postgres.js';

const CHUNK = 1000;

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const pieces: Buffer[] = [];
  for await (const piece of stream) pieces.push(piece);
  return pieces;
}

async function* piecesOf(bytes: Buffer, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  for (let offset = 0, i = 0; offset < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield new Uint8Array(bytes.subarray(offset, offset + n));
    offset += n;
  }
}

describe.each(BACKENDS)('PgBlobStore on %s', (backend) => {
  let t: TestDb;
  let store: PgBlobStore;
  beforeAll(async () => {
    t = await freshDatabase(backend);
    store = new PgBlobStore(t.db, { chunkSize: CHUNK });
  }, 60_000);
  afterAll(async () => { await t.drop(); });

  const chunkRows = async (key: string) => {
    const { rows } = await t.db.query<{ seq: number; n: number }>('SELECT seq, octet_length(data) AS n FROM blob_chunks WHERE key = $1 ORDER BY seq', [key]);
    return rows.map((r) => Number(r.n));
  };

  it('stores chunk data uncompressed and out of line (SET STORAGE EXTERNAL)', async () => {
    const { rows } = await t.db.query<{ attstorage: string }>(
      "SELECT attstorage FROM pg_attribute WHERE attrelid = 'blob_chunks'::regclass AND attname = 'data'");
    expect(rows[0]?.attstorage).toBe('e');
  });

  it.each([0, 1, 999, 1000, 1001, 3500])('round-trips %i bytes in ceil(size / chunk) chunks', async (size) => {
    const bytes = randomBytes(size);
    const key = `models/rt-${size}.bin`;
    await store.put(key, bytes);
    expect((await store.get(key)).equals(bytes)).toBe(true);
    expect(Buffer.concat(await collect(store.getStream(key))).equals(bytes)).toBe(true);
    const sizes = await chunkRows(key);
    expect(sizes).toHaveLength(Math.ceil(size / CHUNK));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(size);
    const { rows } = await t.db.query<{ byte_size: number; sha256: string; chunk_size: number }>('SELECT byte_size, sha256, chunk_size FROM blobs WHERE key = $1', [key]);
    expect({ ...rows[0], byte_size: Number(rows[0]!.byte_size) }).toEqual({ byte_size: size, sha256: createHash('sha256').update(bytes).digest('hex'), chunk_size: CHUNK });
  });

  it('has, list (byte order) and delete (chunks cascade)', async () => {
    const s = new PgBlobStore(t.db, { chunkSize: 10 });
    await s.put('list/b.bin', Buffer.from('bbbbbbbbbbbbbbbbbbbbbbbbb'));
    await s.put('list/a-1.bin', Buffer.from('a'));
    await s.put('list/a.bin', Buffer.from('a'));
    expect((await s.list()).filter((k) => k.startsWith('list/'))).toEqual(['list/a-1.bin', 'list/a.bin', 'list/b.bin']);
    expect(await s.has('list/b.bin')).toBe(true);
    await s.delete('list/b.bin');
    await s.delete('list/b.bin');
    expect(await s.has('list/b.bin')).toBe(false);
    expect(await chunkRows('list/b.bin')).toEqual([]);
    expect(await codeOf(s.get('list/b.bin'))).toBe('BLOB_NOT_FOUND');
    expect(await codeOf(collect(s.getStream('list/b.bin')))).toBe('BLOB_NOT_FOUND');
  });

  it('re-putting identical bytes changes nothing; different bytes replace the blob whole', async () => {
    const key = 'models/idem.bin';
    const first = randomBytes(2500);
    await store.put(key, first);
    // The transaction ids that wrote the row and its chunks: unchanged means nothing was rewritten.
    const version = async () => (await t.db.query<{ v: string }>(
      "SELECT (SELECT xmin::text FROM blobs WHERE key = $1) || ':' || string_agg(xmin::text, ',' ORDER BY seq) AS v FROM blob_chunks WHERE key = $1", [key])).rows[0]!.v;
    const before = await version();
    await store.put(key, Buffer.from(first));
    expect(await version()).toBe(before);
    const second = randomBytes(1200);
    await store.put(key, second);
    expect(await version()).not.toBe(before);
    expect((await store.get(key)).equals(second)).toBe(true);
    expect(await chunkRows(key)).toEqual([1000, 200]);
  });

  it('reads blobs written with another chunk size', async () => {
    const bytes = randomBytes(5000);
    await new PgBlobStore(t.db, { chunkSize: 4096 }).put('models/other-chunks.bin', bytes);
    expect((await store.get('models/other-chunks.bin')).equals(bytes)).toBe(true);
    expect((await collect(store.getStream('models/other-chunks.bin'))).map((c) => c.length)).toEqual([4096, 904]);
  });

  it('a put that fails part-way leaves nothing, and a failed replacement leaves the old blob', async () => {
    // A trigger refuses the third chunk of any blob, after two were written in the same transaction.
    await t.db.query(`CREATE FUNCTION refuse_third_chunk() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.seq = 2 THEN RAISE EXCEPTION 'refused chunk 2'; END IF; RETURN NEW; END $$`);
    await t.db.query('CREATE TRIGGER refuse_third_chunk BEFORE INSERT ON blob_chunks FOR EACH ROW EXECUTE FUNCTION refuse_third_chunk()');
    try {
      await expect(store.put('models/atomic.bin', randomBytes(4500))).rejects.toThrow('refused chunk 2');
      expect(await store.has('models/atomic.bin')).toBe(false);
      expect(await chunkRows('models/atomic.bin')).toEqual([]);

      const old = randomBytes(1500);
      await store.put('models/atomic.bin', old);
      await expect(store.put('models/atomic.bin', randomBytes(4500))).rejects.toThrow('refused chunk 2');
      await expect(store.putStream('models/atomic.bin', piecesOf(randomBytes(4500), [700]))).rejects.toThrow('refused chunk 2');
      expect((await store.get('models/atomic.bin')).equals(old)).toBe(true);
      expect(await chunkRows('models/atomic.bin')).toEqual([1000, 500]);
    } finally {
      await t.db.query('DROP TRIGGER refuse_third_chunk ON blob_chunks');
    }
  });

  it('putStream re-chunks any piece sizes into one transaction', async () => {
    const bytes = randomBytes(7777);
    await store.putStream('models/stream.bin', piecesOf(bytes, [1, 0, 999, 2500, 13, 1000, 4000]));
    expect(await chunkRows('models/stream.bin')).toEqual([1000, 1000, 1000, 1000, 1000, 1000, 1000, 777]);
    expect((await store.get('models/stream.bin')).equals(bytes)).toBe(true);
    const streamed = await collect(store.getStream('models/stream.bin'));
    expect(streamed.map((c) => c.length)).toEqual([1000, 1000, 1000, 1000, 1000, 1000, 1000, 777]);
    expect(Buffer.concat(streamed).equals(bytes)).toBe(true);

    await store.putStream('models/stream-empty.bin', piecesOf(Buffer.alloc(0), [1]));
    expect((await store.get('models/stream-empty.bin')).length).toBe(0);
  });

  it('putStream passes the source failure through unchanged and stores nothing', async () => {
    const boom = Object.assign(new Error('upload reset'), { code: 'ECONNRESET' });
    async function* failing() { yield randomBytes(2500); throw boom; }
    await expect(store.putStream('models/aborted.bin', failing())).rejects.toBe(boom);
    expect(await store.has('models/aborted.bin')).toBe(false);
    expect(await chunkRows('models/aborted.bin')).toEqual([]);
  });

  describe('detects corruption', () => {
    const key = 'models/corrupt.bin';
    let bytes: Buffer;
    beforeAll(async () => {
      bytes = randomBytes(3500);
    });
    const reset = () => store.put(key, Buffer.concat([bytes, Buffer.from('x')])).then(() => store.put(key, bytes));

    const expectMismatch = async (why: RegExp, yieldedBeforeFailure: number) => {
      const err = await store.get(key).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BlobStoreError);
      expect(err).toMatchObject({ code: 'BLOB_DIGEST_MISMATCH' });
      expect((err as Error).message).toMatch(why);
      // The stream holds one chunk back: the failure comes before the last chunk is handed out.
      const yielded: Buffer[] = [];
      const streamErr = await (async () => { for await (const c of store.getStream(key)) yielded.push(c); })().catch((e: unknown) => e);
      expect(streamErr).toMatchObject({ code: 'BLOB_DIGEST_MISMATCH' });
      expect(yielded).toHaveLength(yieldedBeforeFailure);
    };

    it('a flipped byte', async () => {
      await reset();
      await t.db.query('UPDATE blob_chunks SET data = set_byte(data, 7, (get_byte(data, 7) + 1) % 256) WHERE key = $1 AND seq = 1', [key]);
      await expectMismatch(/hash to [0-9a-f]{64}, not to the recorded/, 3);
    });

    it('a flipped byte in the last chunk', async () => {
      await reset();
      await t.db.query('UPDATE blob_chunks SET data = set_byte(data, 0, (get_byte(data, 0) + 1) % 256) WHERE key = $1 AND seq = 3', [key]);
      await expectMismatch(/not to the recorded/, 3);
    });

    it('a missing chunk', async () => {
      await reset();
      await t.db.query('DELETE FROM blob_chunks WHERE key = $1 AND seq = 2', [key]);
      await expectMismatch(/chunk 2 is missing/, 1);
    });

    it('a truncated chunk', async () => {
      await reset();
      await t.db.query('UPDATE blob_chunks SET data = substring(data FROM 1 FOR 10) WHERE key = $1 AND seq = 0', [key]);
      await expectMismatch(/chunk 0 holds 10 bytes, not 1000/, 0);
    });

    it('and reads the repaired blob again', async () => {
      await reset();
      expect((await store.get(key)).equals(bytes)).toBe(true);
    });
  });

  it('a stream whose blob is replaced mid-way fails instead of mixing versions', async () => {
    const key = 'models/replaced.bin';
    await store.put(key, randomBytes(5000));
    const reader = store.getStream(key)[Symbol.asyncIterator]();
    expect((await reader.next()).value).toHaveLength(CHUNK);
    await store.put(key, randomBytes(5000));
    const err = await (async () => { for (;;) if ((await reader.next()).done) return; })().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'BLOB_NOT_FOUND' });
    expect((err as Error).message).toContain('replaced or deleted while it was being read');
  });

  it('refuses invalid keys and chunk sizes', async () => {
    await expect(store.put('../etc/passwd', Buffer.from('x'))).rejects.toThrow('invalid blob key');
    await expect(store.get('UPPER')).rejects.toThrow('invalid blob key');
    expect(() => new PgBlobStore(t.db, { chunkSize: 0 })).toThrow('chunkSize');
    expect(() => new PgBlobStore(t.db, { chunkSize: 64 * 1024 * 1024 })).toThrow('chunkSize');
  });
});

describe('PgBlobStore when PostgreSQL is unreachable', () => {
  it('answers BLOB_STORE_UNAVAILABLE with the cause attached', async () => {
    const url = new URL(TEST_PG_URL);
    url.port = '1';
    const db = openPostgres(url.toString(), { max: 1 });
    try {
      const store = new PgBlobStore(db);
      for (const op of [store.put('models/x.bin', Buffer.from('x')), store.get('models/x.bin'), store.has('models/x.bin'), store.list(), store.delete('models/x.bin'), collect(store.getStream('models/x.bin'))]) {
        const err = await op.catch((e: unknown) => e);
        expect(err).toBeInstanceOf(BlobStoreError);
        expect(err).toMatchObject({ code: 'BLOB_STORE_UNAVAILABLE' });
        expect((err as Error).cause).toBeDefined();
      }
    } finally {
      await db.close();
    }
  });

  it('answers BLOB_STORE_UNAVAILABLE when the server drops the connection mid-write, and nothing is stored', async () => {
    const t = await freshDatabase('postgres');
    try {
      const store = new PgBlobStore(t.db, { chunkSize: CHUNK });
      const dbName = new URL(t.url!).pathname.slice(1);
      async function* killedMidway() {
        yield randomBytes(2500);
        // Every other session of this database is terminated, the writer's included (57P01).
        const admin = new pg.Client({ connectionString: TEST_PG_URL });
        await admin.connect();
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [dbName]);
        await admin.end();
        yield randomBytes(2500);
      }
      const err = await store.putStream('models/killed.bin', killedMidway()).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'BLOB_STORE_UNAVAILABLE' });
      expect((err as Error).cause).toBeDefined();
      expect(await store.has('models/killed.bin')).toBe(false);
      expect((await t.db.query('SELECT 1 FROM blob_chunks')).rows).toHaveLength(0);
    } finally {
      await t.drop();
    }
  });
});
