import { createHash, type Hash } from 'node:crypto';
import { ContentCapture } from './content-capture.js';
import type { FileInspection, FileInspector } from './file-inspector.js';

export interface EntrySinkResult {
  readonly sha256: string;
  /** The bytes, when capture was asked for and they fit under the capture limit. */
  readonly content: Buffer | undefined;
  readonly inspection: FileInspection | null;
}

/**
 * Consumes the bytes of one of the artifact's own files exactly once: hashes them, keeps them when
 * asked and small enough, and hands them to the file's inspector (secrets, nested archives).
 */
export class EntrySink {
  private readonly hash: Hash = createHash('sha256');
  private readonly capture: ContentCapture | null;
  private readonly inspector: FileInspector | null;

  constructor(options: { readonly captureLimit: number | null; readonly inspector: FileInspector | null }) {
    this.capture = options.captureLimit === null ? null : new ContentCapture(options.captureLimit);
    this.inspector = options.inspector;
  }

  async write(chunk: Buffer): Promise<void> {
    this.hash.update(chunk);
    this.capture?.add(chunk);
    await this.inspector?.write(chunk);
  }

  async finish(): Promise<EntrySinkResult> {
    return {
      sha256: this.hash.digest('hex'),
      content: this.capture?.content(),
      inspection: this.inspector ? await this.inspector.finish() : null,
    };
  }
}
