import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/** One request as the access log keeps it: who, what shape of question, what answer; no patient value. */
export interface AccessEntry {
  readonly time: string;
  readonly requestId: string;
  readonly user: string | null;
  readonly role: string | null;
  readonly auth: 'oidc' | 'api-key' | null;
  readonly method: string;
  readonly route: string;
  readonly status: number;
  readonly code?: string;
  /** Field names the request used (select, filters, grouping, statistics): names only, never filter values. */
  readonly fields?: readonly string[];
  readonly rows?: number;
  readonly epsilon?: number;
}

/** Appends entries to the site's JSONL access log (created with mode 0600), one write per line, in order. */
export class AccessLog {
  readonly path: string;
  #chain: Promise<void> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  append(entry: AccessEntry): Promise<void> {
    const line = `${JSON.stringify(entry)}\n`;
    const write = this.#chain.then(async () => {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      await appendFile(this.path, line, { mode: 0o600 });
    });
    this.#chain = write.catch(() => undefined); // one failed write must not block the lines after it
    return write;
  }
}
