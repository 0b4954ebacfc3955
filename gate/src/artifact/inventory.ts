/** What the gate learns from reading an artifact once: its digest and every entry in it. */

export type EntryKind = 'file' | 'directory' | 'symlink' | 'other';

export interface ArtifactEntry {
  /** Relative path, `/`-separated, no leading `./`. Inside an image layer: the absolute path in the image. */
  readonly path: string;
  readonly kind: EntryKind;
  readonly size: number;
  /** Digest of the image layer blob this entry came from, when the artifact is an OCI image layout. */
  readonly layer?: string;
  /** The bytes, captured only for entries the caller asked for and no larger than the capture limit. */
  readonly content?: Buffer;
  /** True when the caller wanted the content but the entry was larger than the capture limit. */
  readonly contentSkipped?: boolean;
}

export interface OciImageIdentity {
  /** Index, manifest and config digests that the layout proves by content. */
  readonly digests: readonly string[];
}

export interface ArtifactInventory {
  readonly kind: 'directory' | 'tarball';
  readonly digest: string;
  readonly entries: readonly ArtifactEntry[];
  readonly image: OciImageIdentity | null;
}

export interface ReadArtifactOptions {
  /** Which entries to capture the bytes of (by path). */
  readonly wantContent?: (path: string) => boolean;
  /** Largest entry captured, in bytes. */
  readonly maxContentBytes?: number;
  /** Look inside OCI image layers (tar or tar+gzip blobs). */
  readonly scanImageLayers?: boolean;
}

/** An artifact held in memory: its files by relative path. Read (and digested) as a directory. */
export interface MemoryArtifact {
  readonly files: readonly { readonly path: string; readonly bytes: Uint8Array }[];
}

/** Every source readArtifact accepts: a directory path, a tarball path, tarball bytes, or files in memory. */
export type ArtifactSource = string | Uint8Array | MemoryArtifact;
