import { StringDecoder } from 'node:string_decoder';

/**
 * Cuts a byte stream into `\n`-terminated UTF-8 lines without holding more than one partial line,
 * so NDJSON of any length streams through in constant memory.
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  readonly #onLine: (line: string) => void;
  #partial = '';

  constructor(onLine: (line: string) => void) {
    this.#onLine = onLine;
  }

  push(chunk: Uint8Array): void {
    const text = this.#partial + this.#decoder.write(chunk as Buffer);
    let start = 0;
    for (let nl = text.indexOf('\n', start); nl !== -1; nl = text.indexOf('\n', start)) {
      this.#onLine(text.slice(start, nl));
      start = nl + 1;
    }
    this.#partial = text.slice(start);
  }

  /** Flushes a last line that has no newline. */
  end(): void {
    const rest = this.#partial + this.#decoder.end();
    this.#partial = '';
    if (rest.length > 0) this.#onLine(rest);
  }
}
