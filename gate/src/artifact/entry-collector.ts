import { ExpansionBudget } from './expansion-budget.js';
import { FileInspector, nestedNaming, type ChildNaming, type InspectionScope } from './file-inspector.js';
import type { ArtifactEntry, EntryKind, ReadArtifactOptions, ScanIssue } from './inventory.js';
import { EntrySink } from './entry-sink.js';
import { DEFAULT_SCAN_LIMITS } from './scan-limits.js';
import { ScanIssueLog } from './scan-issue-log.js';

/** OCI manifests, indexes and configs are small JSON documents; anything larger is a layer. */
export const OCI_JSON_LIMIT = 4 * 1024 * 1024;
export const DEFAULT_MAX_CONTENT_BYTES = 1024 * 1024;
const OCI_BLOB_PREFIX = 'blobs/sha256/';
const OCI_METADATA_FILES = new Set(['index.json', 'oci-layout']);

/** Gathers what one pass over an artifact yields, whatever the container (directory or tarball). */
export class EntryCollector {
  readonly entries: ArtifactEntry[] = [];
  /** sha256 hex of each regular file's bytes, by path. */
  readonly fileDigests = new Map<string, string>();
  /** Small OCI layout files (index.json, oci-layout, JSON blobs), by path. */
  readonly ociFiles = new Map<string, Buffer>();
  /** Shared by every inspection in this read: limits, the expansion budget, the issues found. */
  readonly scope: InspectionScope;

  constructor(options: ReadArtifactOptions) {
    const limits = { ...DEFAULT_SCAN_LIMITS, ...options.limits };
    this.scope = {
      budget: new ExpansionBudget(limits),
      issues: new ScanIssueLog(),
      openArchives: options.scanImageLayers ?? true,
      scanText: options.scanText,
      wantContent: options.wantContent ?? (() => false),
      maxContentBytes: options.maxContentBytes ?? DEFAULT_MAX_CONTENT_BYTES,
    };
  }

  get issues(): ScanIssue[] {
    return this.scope.issues.list();
  }

  addNonFile(path: string, kind: Exclude<EntryKind, 'file'>, size: number): void {
    this.entries.push({ path, kind, size });
  }

  /** Returns a sink for a regular file's bytes; call `done` with it once the bytes have all been written. */
  openFile(path: string): { sink: EntrySink; done: (size: number) => Promise<void> } {
    const { scope } = this;
    const want = scope.wantContent(path);
    const ociBlob = path.startsWith(OCI_BLOB_PREFIX);
    const ociFile = ociBlob || OCI_METADATA_FILES.has(path);
    const captureLimit = want || ociFile ? Math.max(want ? scope.maxContentBytes : 0, ociFile ? OCI_JSON_LIMIT : 0) : null;
    const inspect = scope.openArchives || scope.scanText !== undefined;
    const sink = new EntrySink({ captureLimit, inspector: inspect ? new FileInspector(scope, { path, level: 0, children: childNaming(path, ociBlob) }) : null });
    const done = async (size: number): Promise<void> => {
      const result = await sink.finish();
      this.fileDigests.set(path, result.sha256);
      const content = result.content;
      if (ociFile && content) this.ociFiles.set(path, content);
      const keep = want && content !== undefined && content.length <= scope.maxContentBytes;
      this.entries.push({
        path,
        kind: 'file',
        size,
        ...(keep ? { content } : {}),
        ...(want && !keep ? { contentSkipped: true } : {}),
        ...(result.inspection?.contentMatches ? { contentMatches: result.inspection.contentMatches } : {}),
      });
      this.entries.push(...(result.inspection?.nested ?? []));
    };
    return { sink, done };
  }
}

/** An OCI blob that holds a layer lists its files as the image shows them (`/etc/…`), tagged with the layer digest. */
function childNaming(path: string, ociBlob: boolean): ChildNaming {
  if (!ociBlob) return nestedNaming(path);
  return { name: (inner) => `/${inner}`, layer: `sha256:${path.slice(OCI_BLOB_PREFIX.length)}`, rootfs: true };
}
