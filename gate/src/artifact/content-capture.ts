/** Keeps a file's bytes when they fit under a limit; past it, remembers only that they did not. */
export class ContentCapture {
  private chunks: Buffer[] | null = [];
  private size = 0;
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  add(chunk: Buffer): void {
    if (!this.chunks) return;
    this.size += chunk.length;
    if (this.size > this.limit) this.chunks = null;
    else this.chunks.push(chunk);
  }

  /** The bytes, or undefined when they were over the limit. */
  content(): Buffer | undefined {
    return this.chunks ? Buffer.concat(this.chunks) : undefined;
  }
}
