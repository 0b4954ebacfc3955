import { TextDecoder } from 'node:util';
import { ContentCapture } from './content-capture.js';
import type { ExpansionBudget } from './expansion-budget.js';
import type { ArtifactEntry, ContentMatch, ScanIssueCode, TextScan } from './inventory.js';
import { MeteredGunzip } from './metered-gunzip.js';
import type { ScanIssueLog } from './scan-issue-log.js';
import { SNIFF_BYTES, sniffFormat, type SniffedFormat } from './sniff-format.js';
import { TarReader, type TarEntryConsumer } from './tar-reader.js';

/** What every inspection within one artifact read shares. */
export interface InspectionScope {
  readonly budget: ExpansionBudget;
  readonly issues: ScanIssueLog;
  /** Open tar, tar+gzip and gzip files (image layers included). */
  readonly openArchives: boolean;
  readonly scanText?: ((path: string) => TextScan) | undefined;
  readonly wantContent: (path: string) => boolean;
  readonly maxContentBytes: number;
}

/** How the entries of an archive found in a file are named and judged. */
export interface ChildNaming {
  readonly name: (inner: string) => string;
  readonly layer?: string;
  readonly rootfs: boolean;
}

/** Where a file's bytes sit in the artifact. */
export interface Placement {
  /** The path its entry and findings carry. */
  readonly path: string;
  /** Archives opened above it: 0 for the artifact's own files, 1 inside a layer or a vendor.tar.gz. */
  readonly level: number;
  readonly layer?: string;
  readonly children: ChildNaming;
  /** It is the decompressed stream of a gzip file, whose opening already counted as a level. */
  readonly decompressed?: boolean;
}

export interface FileInspection {
  readonly contentMatches?: readonly ContentMatch[];
  /** It was opened as an archive (its entries are in `nested`). */
  readonly archive: boolean;
  readonly nested: readonly ArtifactEntry[];
}

/** Entries of an archive inside the artifact are named `<archive path>!/<path inside>`. */
export function nestedNaming(path: string, layer?: string): ChildNaming {
  return { name: (inner) => `${path}!/${inner}`, ...(layer ? { layer } : {}), rootfs: false };
}

interface Handler {
  write(chunk: Buffer): Promise<void>;
  finish(): Promise<void>;
}

/**
 * Inspects one file's bytes, in order, once, by what they are: text is searched for secrets (up to
 * max_text_bytes), tar and gzip are opened and their entries inspected in turn (within the nesting
 * and expansion limits), other archive formats are reported as not scanned, binary is left alone.
 */
export class FileInspector {
  private head: Buffer[] | null = [];
  private headBytes = 0;
  private handler: Handler | null = null;
  private matches: (() => readonly ContentMatch[]) | null = null;
  private opened = false;
  private readonly nested: ArtifactEntry[] = [];
  private readonly scope: InspectionScope;
  private readonly placement: Placement;

  constructor(scope: InspectionScope, placement: Placement) {
    this.scope = scope;
    this.placement = placement;
  }

  async write(chunk: Buffer): Promise<void> {
    if (!this.head) return this.handler?.write(chunk);
    this.head.push(chunk);
    this.headBytes += chunk.length;
    if (this.headBytes >= SNIFF_BYTES) await this.decide();
  }

  async finish(): Promise<FileInspection> {
    if (this.head) await this.decide();
    await this.handler?.finish();
    return { ...(this.matches ? { contentMatches: this.matches() } : {}), archive: this.opened, nested: this.nested };
  }

  private async decide(): Promise<void> {
    const head = Buffer.concat(this.head ?? []);
    this.head = null;
    this.handler = this.handlerFor(sniffFormat(head));
    if (this.handler && head.length > 0) await this.handler.write(head);
  }

  private handlerFor(format: SniffedFormat): Handler | null {
    const { scope, placement } = this;
    switch (format.kind) {
      case 'binary':
        return null;
      case 'text': {
        if (!scope.scanText) return null;
        const text = new TextHandler(scope.scanText(placement.path), format.encoding, scope.budget.limits.maxTextBytes, () =>
          this.report('GATE_CONTENT_UNSCANNED', `${placement.path} is a text file larger than max_text_bytes (${scope.budget.limits.maxTextBytes} bytes); it was searched for secrets only up to there`),
        );
        this.matches = () => text.matches();
        return text;
      }
      case 'unsupported':
        if (scope.openArchives) {
          this.report('GATE_CONTENT_UNSCANNED', `${placement.path} is ${format.format} data, which the gate does not open; ship its contents as files or as tar or tar+gzip`);
        }
        return null;
      case 'gzip':
        if (!scope.openArchives || !this.withinDepth()) return null;
        this.opened = true;
        return new GzipHandler(scope, placement, this.nested, (code, message) => this.report(code, message));
      case 'tar':
        if (!scope.openArchives || (!placement.decompressed && !this.withinDepth())) return null;
        this.opened = true;
        return new TarHandler(scope, placement, this.nested, (code, message) => this.report(code, message));
    }
  }

  private withinDepth(): boolean {
    const { maxArchiveDepth } = this.scope.budget.limits;
    if (this.placement.level + 1 <= maxArchiveDepth) return true;
    this.report('GATE_ARCHIVE_NESTING_LIMIT', `${this.placement.path} is an archive nested ${this.placement.level + 1} deep, over max_archive_depth (${maxArchiveDepth}); it was not opened`);
    return false;
  }

  private report(code: ScanIssueCode, message: string): void {
    this.scope.issues.add({ code, path: this.placement.path, message, ...(this.placement.layer ? { layer: this.placement.layer } : {}) });
  }
}

/** Feeds decoded text to a scan, up to the size cap; past it, reports once and stops scanning. */
class TextHandler implements Handler {
  private readonly scan: TextScan;
  private readonly decoder: TextDecoder | null;
  private readonly cap: number;
  private readonly onOverCap: () => void;
  private seen = 0;

  constructor(scan: TextScan, encoding: 'latin1' | 'utf-16le' | 'utf-16be', cap: number, onOverCap: () => void) {
    this.scan = scan;
    // Latin-1 maps each byte to one character, so a chunk boundary never splits one; the patterns are ASCII.
    this.decoder = encoding === 'latin1' ? null : new TextDecoder(encoding);
    this.cap = cap;
    this.onOverCap = onOverCap;
  }

  write(chunk: Buffer): Promise<void> {
    if (this.seen > this.cap) return Promise.resolve();
    const room = this.cap - this.seen;
    this.seen += chunk.length;
    this.feed(chunk.length > room ? chunk.subarray(0, room) : chunk);
    if (this.seen > this.cap) this.onOverCap();
    return Promise.resolve();
  }

  finish(): Promise<void> {
    if (this.decoder) this.scan.write(this.decoder.decode());
    return Promise.resolve();
  }

  matches(): readonly ContentMatch[] {
    return this.scan.finish();
  }

  private feed(bytes: Buffer): void {
    if (bytes.length > 0) this.scan.write(this.decoder ? this.decoder.decode(bytes, { stream: true }) : bytes.toString('latin1'));
  }
}

/**
 * A gzip file: decompressed under the expansion meter into a file of its own one level down. When
 * that turns out to be tar, its entries are named after the gzip file (`vendor.tar.gz!/…`);
 * otherwise the decompressed file is listed as `data.json.gz!/data.json`.
 */
class GzipHandler implements Handler {
  private readonly gunzip: MeteredGunzip;
  private readonly inner: FileInspector;
  private readonly innerPath: string;
  private readonly placement: Placement;
  private readonly nested: ArtifactEntry[];
  private readonly report: (code: ScanIssueCode, message: string) => void;
  private expanded = 0;

  constructor(scope: InspectionScope, placement: Placement, nested: ArtifactEntry[], report: (code: ScanIssueCode, message: string) => void) {
    this.placement = placement;
    this.nested = nested;
    this.report = report;
    const base = placement.path.slice(placement.path.lastIndexOf('/') + 1);
    this.innerPath = placement.children.name(base.replace(/\.tgz$/i, '.tar').replace(/\.gz$/i, '') || 'content');
    const layer = placement.children.layer;
    this.inner = new FileInspector(scope, {
      path: this.innerPath,
      level: placement.level + 1,
      ...(layer ? { layer } : {}),
      children: placement.children,
      decompressed: true,
    });
    this.gunzip = new MeteredGunzip(scope.budget.meter(), (chunk) => {
      this.expanded += chunk.length;
      return this.inner.write(chunk);
    });
  }

  write(chunk: Buffer): Promise<void> {
    return this.gunzip.write(chunk);
  }

  async finish(): Promise<void> {
    const outcome = await this.gunzip.end();
    if (outcome.state === 'over-limit') {
      this.report('GATE_ARCHIVE_EXPANSION_LIMIT', `${this.placement.path}: ${outcome.reason}; decompression stopped and the rest of it was not inspected`);
      return;
    }
    if (outcome.state === 'corrupt') {
      this.report('GATE_CONTENT_UNSCANNED', `${this.placement.path} is not a readable gzip stream (${outcome.reason}); its content was not inspected`);
      return;
    }
    const inspection = await this.inner.finish();
    const layer = this.placement.children.layer;
    if (!inspection.archive) {
      this.nested.push({
        path: this.innerPath,
        kind: 'file',
        size: this.expanded,
        ...(layer ? { layer } : {}),
        ...(inspection.contentMatches ? { contentMatches: inspection.contentMatches } : {}),
      });
    }
    this.nested.push(...inspection.nested);
  }
}

/** A tar archive: each entry checked for safety, each file inspected in turn one level down. */
class TarHandler implements Handler {
  private readonly reader: TarReader;
  private readonly placement: Placement;
  private readonly report: (code: ScanIssueCode, message: string) => void;
  private broken = false;

  constructor(scope: InspectionScope, placement: Placement, nested: ArtifactEntry[], report: (code: ScanIssueCode, message: string) => void) {
    this.placement = placement;
    this.report = report;
    const level = placement.decompressed ? placement.level : placement.level + 1;
    const { name, rootfs, layer } = placement.children;
    const inLayer = layer ? { layer } : {};
    const consumer: TarEntryConsumer = {
      name,
      rootfs,
      unsafe: (subject, problem) => scope.issues.add({ code: problem.code, path: subject, message: problem.message, ...inLayer }),
      nonFile: (path, kind, size) => nested.push({ path, kind, size, ...inLayer }),
      file: (path) => {
        const capture = scope.wantContent(path) ? new ContentCapture(scope.maxContentBytes) : null;
        const inspector = new FileInspector(scope, { path, level, ...inLayer, children: nestedNaming(path, layer) });
        return {
          write: (chunk) => {
            capture?.add(chunk);
            return inspector.write(chunk);
          },
          done: async (size) => {
            const inspection = await inspector.finish();
            const content = capture?.content();
            nested.push({
              path,
              kind: 'file',
              size,
              ...inLayer,
              ...(capture ? (content ? { content } : { contentSkipped: true }) : {}),
              ...(inspection.contentMatches ? { contentMatches: inspection.contentMatches } : {}),
            });
            nested.push(...inspection.nested);
          },
        };
      },
    };
    this.reader = new TarReader(consumer);
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.broken) return;
    try {
      await this.reader.write(chunk);
    } catch (error) {
      this.fail(error);
    }
  }

  async finish(): Promise<void> {
    if (this.broken) return;
    try {
      await this.reader.end();
    } catch (error) {
      this.fail(error);
    }
  }

  private fail(error: unknown): void {
    this.broken = true;
    this.report('GATE_CONTENT_UNSCANNED', `${this.placement.path} is not a readable tar archive (${(error as Error).message}); the rest of it was not inspected`);
  }
}
