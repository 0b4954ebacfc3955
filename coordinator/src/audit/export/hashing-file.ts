import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';

/** A file written in large chunks with backpressure, hashed (SHA-256) as it is written. */
export class HashingFile {
  readonly #stream: WriteStream;
  readonly #hash = createHash('sha256');
  #bytes = 0;

  constructor(path: string) {
    this.#stream = createWriteStream(path);
  }

  async write(text: string | Uint8Array): Promise<void> {
    const chunk = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
    if (!this.#stream.write(chunk)) await once(this.#stream, 'drain');
  }

  async close(): Promise<{ sha256: string; bytes: number }> {
    this.#stream.end();
    await finished(this.#stream);
    return { sha256: this.#hash.digest('hex'), bytes: this.#bytes };
  }
}
