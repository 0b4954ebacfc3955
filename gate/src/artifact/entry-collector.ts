import type { ArtifactEntry, EntryKind, ReadArtifactOptions } from './inventory.js';
import { EntrySink } from './entry-sink.js';

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
  private readonly options: Required<ReadArtifactOptions>;

  constructor(options: ReadArtifactOptions) {
    this.options = {
      wantContent: options.wantContent ?? (() => false),
      maxContentBytes: options.maxContentBytes ?? DEFAULT_MAX_CONTENT_BYTES,
      scanImageLayers: options.scanImageLayers ?? true,
    };
  }

  addNonFile(path: string, kind: Exclude<EntryKind, 'file'>, size: number): void {
    this.entries.push({ path, kind, size });
  }

  /** Returns a sink for a regular file's bytes; call `done` with it once the bytes have all been written. */
  openFile(path: string): { sink: EntrySink; done: (size: number) => Promise<void> } {
    const want = this.options.wantContent(path);
    const ociBlob = path.startsWith(OCI_BLOB_PREFIX);
    const ociFile = ociBlob || OCI_METADATA_FILES.has(path);
    const sink = new EntrySink(ociBlob ? `sha256:${path.slice(OCI_BLOB_PREFIX.length)}` : path, {
      hash: true,
      capture: want || ociFile,
      maxContentBytes: Math.max(want ? this.options.maxContentBytes : 0, ociFile ? OCI_JSON_LIMIT : 0),
      sniffLayer: ociBlob && this.options.scanImageLayers,
      wantContent: this.options.wantContent,
    });
    const done = async (size: number): Promise<void> => {
      const result = await sink.finish();
      if (result.sha256) this.fileDigests.set(path, result.sha256);
      const content = result.content;
      if (ociFile && content) this.ociFiles.set(path, content);
      const keep = want && content !== undefined && content.length <= this.options.maxContentBytes;
      this.entries.push({
        path,
        kind: 'file',
        size,
        ...(keep ? { content } : {}),
        ...(want && !keep ? { contentSkipped: true } : {}),
      });
      this.entries.push(...result.layerEntries);
    };
    return { sink, done };
  }
}
