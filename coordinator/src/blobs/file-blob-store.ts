import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { BlobStore } from './blob-store.js';
import { BlobStoreError } from './errors.js';
import { assertBlobKey } from './key.js';
import { trackSource } from './source.js';

/** The temporary name `put` writes to before its rename (a key may itself end in `.tmp`). */
const TEMPORARY = /\.[0-9a-f]{12}\.tmp$/;
const FULL = new Set(['ENOSPC', 'EDQUOT']);
const READ_PIECE = 1 << 20;

const errnoOf = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;

/** The default store: one file per blob, written to a temporary name, fsynced, then renamed. */
export class FileBlobStore implements BlobStore {
  readonly root: string;
  /** Temporaries of this instance's writes in flight, which `cleanTemporaryFiles` leaves alone. */
  readonly #writing = new Set<string>();

  constructor(root: string) {
    this.root = root;
  }

  private path(key: string): string {
    assertBlobKey(key);
    return join(this.root, ...key.split('/'));
  }

  /** The seam where a temporary file is created (tests inject a full disk here when they cannot mount one). */
  protected openTemporary(path: string): Promise<FileHandle> {
    return open(path, 'wx', 0o600);
  }

  put(key: string, bytes: Uint8Array): Promise<void> {
    return this.#write(key, (handle) => handle.writeFile(bytes));
  }

  putStream(key: string, source: AsyncIterable<Uint8Array>): Promise<void> {
    const tracked = trackSource(source);
    return this.#write(key, async (handle) => {
      for await (const piece of tracked.pieces) await writeAll(handle, piece);
    }, tracked.threw);
  }

  /** Writes via a temporary that never outlives a failure; `foreign` errors (the caller's) pass through unmapped. */
  async #write(key: string, fill: (handle: FileHandle) => Promise<void>, foreign: (err: unknown) => boolean = () => false): Promise<void> {
    const target = this.path(key);
    const dir = dirname(target);
    const tmp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    this.#writing.add(tmp);
    let handle: FileHandle | undefined;
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      handle = await this.openTemporary(tmp);
      await fill(handle);
      await handle.sync();
      // Closing can itself report a full disk (NFS flushes then), so it is part of the write.
      const closing = handle;
      handle = undefined;
      await closing.close();
      await rename(tmp, target);
    } catch (err) {
      await handle?.close().catch(() => {});
      await rm(tmp, { force: true }).catch(() => {});
      throw !foreign(err) && FULL.has(errnoOf(err) ?? '') ? storageFull(dir, key, err) : err;
    } finally {
      this.#writing.delete(tmp);
    }
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await readFile(this.path(key));
    } catch (err) {
      throw errnoOf(err) === 'ENOENT' ? notFound(key, err) : err;
    }
  }

  async *getStream(key: string): AsyncGenerator<Buffer> {
    let handle: FileHandle;
    try {
      handle = await open(this.path(key), 'r');
    } catch (err) {
      throw errnoOf(err) === 'ENOENT' ? notFound(key, err) : err;
    }
    // The open handle keeps reading the blob it opened, even if a put renames a new one over it.
    try {
      for (;;) {
        const piece = Buffer.allocUnsafe(READ_PIECE);
        const { bytesRead } = await handle.read(piece, 0, READ_PIECE, null);
        if (bytesRead === 0) return;
        yield piece.subarray(0, bytesRead);
      }
    } finally {
      await handle.close();
    }
  }

  async has(key: string): Promise<boolean> {
    try {
      return (await stat(this.path(key))).isFile();
    } catch {
      return false;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  async list(): Promise<string[]> {
    const files = await this.#files();
    return files.filter((p) => !p.endsWith('.tmp')).map((p) => relative(this.root, p).split(sep).join('/')).sort();
  }

  /** Removes temporaries that interrupted writes (a crash, a kill) left behind; returns how many. */
  async cleanTemporaryFiles(): Promise<number> {
    let removed = 0;
    for (const path of await this.#files()) {
      if (!TEMPORARY.test(path) || this.#writing.has(path)) continue;
      await rm(path, { force: true });
      removed++;
    }
    return removed;
  }

  async #files(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else out.push(p);
      }
    };
    await walk(this.root);
    return out;
  }
}

async function writeAll(handle: FileHandle, piece: Uint8Array): Promise<void> {
  for (let offset = 0; offset < piece.byteLength;) {
    const { bytesWritten } = await handle.write(piece, offset, piece.byteLength - offset);
    offset += bytesWritten;
  }
}

function storageFull(dir: string, key: string, cause: unknown): BlobStoreError {
  return new BlobStoreError('STORAGE_FULL', `payload storage is full: no space left in ${dir} (${errnoOf(cause)}); blob ${key} was not stored`,
    { key, directory: dir }, { cause });
}

function notFound(key: string, cause: unknown): BlobStoreError {
  return new BlobStoreError('BLOB_NOT_FOUND', `blob ${key} is not in the store`, { key }, { cause });
}
