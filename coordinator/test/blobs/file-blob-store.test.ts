import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeOf } from '../../../test/support/error-code.js';
import { BlobStoreError, FileBlobStore } from '../../src/blobs/index.js';

/** Every file under `dir`, relative, for "no .tmp left behind" checks. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of stream) pieces.push(piece);
  return Buffer.concat(pieces);
}

async function* piecesOf(bytes: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}

const errnoError = (code: string) => Object.assign(new Error(`${code}: simulated`), { code });

/** A store whose temporary files fail every write with `code` (the seam, for hosts that cannot mount a tmpfs). */
class FailingDisk extends FileBlobStore {
  readonly code: string;
  constructor(root: string, code: string) {
    super(root);
    this.code = code;
  }
  protected override async openTemporary(path: string): Promise<FileHandle> {
    const handle = await super.openTemporary(path);
    const fail = async () => { throw errnoError(this.code); };
    return new Proxy(handle, {
      get: (target, prop) => {
        if (prop === 'write' || prop === 'writeFile') return fail;
        const value = Reflect.get(target, prop) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }
}

describe('FileBlobStore', () => {
  let root: string;
  let store: FileBlobStore;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'medfed-blobs-'));
    store = new FileBlobStore(root);
  });
  afterEach(async () => { await rm(root, { recursive: true, force: true }); });

  it('stores, replaces, lists and deletes blobs', async () => {
    const a = randomBytes(3000);
    await store.put('models/job-1/a.bin', a);
    await store.put('updates/job-1/r1/site-b.bin', Buffer.from('b'));
    expect((await store.get('models/job-1/a.bin')).equals(a)).toBe(true);
    expect(await store.has('models/job-1/a.bin')).toBe(true);
    expect(await store.list()).toEqual(['models/job-1/a.bin', 'updates/job-1/r1/site-b.bin']);
    await store.put('models/job-1/a.bin', Buffer.from('replaced'));
    expect((await store.get('models/job-1/a.bin')).toString()).toBe('replaced');
    await store.delete('models/job-1/a.bin');
    expect(await store.has('models/job-1/a.bin')).toBe(false);
    expect(await filesUnder(root)).toEqual(['updates/job-1/r1/site-b.bin']);
  });

  it('answers BLOB_NOT_FOUND for a missing blob, from get and getStream', async () => {
    const err = await store.get('models/nope.bin').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobStoreError);
    expect(err).toMatchObject({ code: 'BLOB_NOT_FOUND', cause: { code: 'ENOENT' } });
    expect(await codeOf(collect(store.getStream('models/nope.bin')))).toBe('BLOB_NOT_FOUND');
  });

  it('streams both ways', async () => {
    const bytes = randomBytes(2.5 * 1024 * 1024);
    await store.putStream('models/streamed.bin', piecesOf(bytes, 70_001));
    expect((await store.get('models/streamed.bin')).equals(bytes)).toBe(true);
    const pieces: Buffer[] = [];
    for await (const piece of store.getStream('models/streamed.bin')) pieces.push(piece);
    expect(pieces.length).toBe(3);
    expect(Buffer.concat(pieces).equals(bytes)).toBe(true);
    expect(await filesUnder(root)).toEqual(['models/streamed.bin']);
  });

  it('keeps the old blob, leaves no temporary and passes the error unchanged when the source stream fails', async () => {
    await store.put('models/m.bin', Buffer.from('old'));
    const boom = errnoError('ECONNRESET');
    async function* failing() { yield Buffer.from('new bytes'); throw boom; }
    await expect(store.putStream('models/m.bin', failing())).rejects.toBe(boom);
    expect((await store.get('models/m.bin')).toString()).toBe('old');
    expect(await filesUnder(root)).toEqual(['models/m.bin']);
  });

  it.each(['ENOSPC', 'EDQUOT'])('answers STORAGE_FULL on %s (injected through openTemporary) and leaves no temporary', async (code) => {
    const full = new FailingDisk(root, code);
    for (const attempt of [full.put('updates/j/u.bin', randomBytes(100)), full.putStream('updates/j/u.bin', piecesOf(randomBytes(100), 10))]) {
      const err = await attempt.catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'STORAGE_FULL', cause: { code }, details: { key: 'updates/j/u.bin', directory: join(root, 'updates', 'j') } });
      expect((err as Error).message).toContain(join(root, 'updates', 'j'));
    }
    expect(await filesUnder(root)).toEqual([]);
  });

  it('cleanTemporaryFiles removes leftovers of interrupted writes, and nothing else', async () => {
    await store.put('models/a.bin', Buffer.from('a'));
    await store.put('keep.tmp', Buffer.from('a key may end in .tmp'));
    await mkdir(join(root, 'updates', 'j1'), { recursive: true });
    await writeFile(join(root, 'models', 'a.bin.0123456789ab.tmp'), 'partial');
    await writeFile(join(root, 'updates', 'j1', 'x.bin.a1b2c3d4e5f6.tmp'), 'partial');
    expect(await store.cleanTemporaryFiles()).toBe(2);
    expect(await filesUnder(root)).toEqual(['keep.tmp', 'models/a.bin']);
    expect(await store.cleanTemporaryFiles()).toBe(0);
    expect(await new FileBlobStore(join(root, 'absent')).cleanTemporaryFiles()).toBe(0);
  });

  it('cleanTemporaryFiles leaves the temporary of a write in flight alone', async () => {
    let opened!: () => void;
    const isOpen = new Promise<void>((r) => { opened = r; });
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    class Slow extends FileBlobStore {
      protected override async openTemporary(path: string): Promise<FileHandle> {
        const handle = await super.openTemporary(path);
        opened();
        await gate;
        return handle;
      }
    }
    const slow = new Slow(root);
    const writing = slow.put('models/slow.bin', Buffer.from('slow'));
    await isOpen;
    expect((await filesUnder(root)).some((f) => f.endsWith('.tmp'))).toBe(true);
    expect(await slow.cleanTemporaryFiles()).toBe(0);
    release();
    await writing;
    expect((await slow.get('models/slow.bin')).toString()).toBe('slow');
  });
});

/** A 1 MiB tmpfs, so a full disk is a real ENOSPC from the kernel (needs root; skipped otherwise). */
function mountTinyTmpfs(): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'medfed-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    execFileSync('rmdir', [dir]);
    return undefined;
  }
}

const tinyDisk = process.platform === 'linux' ? mountTinyTmpfs() : undefined;

describe('FileBlobStore on a full disk (real tmpfs)', () => {
  afterAll(() => {
    if (!tinyDisk) return;
    execFileSync('umount', [tinyDisk]);
    execFileSync('rmdir', [tinyDisk]);
  });

  (tinyDisk ? it : it.skip)('answers STORAGE_FULL naming the directory, removes the partial file, and recovers once space is free', async () => {
    const root = join(tinyDisk!, 'blobs');
    const store = new FileBlobStore(root);
    await store.put('models/small.bin', randomBytes(200_000));
    for (const attempt of [
      store.put('models/big.bin', randomBytes(2 * 1024 * 1024)),
      store.putStream('models/big.bin', piecesOf(randomBytes(2 * 1024 * 1024), 64 * 1024)),
      store.put('models/small.bin', randomBytes(900_000)),
    ]) {
      const err = await attempt.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BlobStoreError);
      expect(err).toMatchObject({ code: 'STORAGE_FULL', cause: { code: 'ENOSPC' } });
      expect((err as Error).message).toContain(join(root, 'models'));
    }
    expect(await filesUnder(root)).toEqual(['models/small.bin']);
    expect((await store.get('models/small.bin')).length).toBe(200_000);
    await store.delete('models/small.bin');
    await store.put('models/big.bin', randomBytes(900_000));
    expect(await store.list()).toEqual(['models/big.bin']);
  });
});
