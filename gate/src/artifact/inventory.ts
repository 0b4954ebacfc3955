/** What the gate learns from reading an artifact once: its digest and every entry in it. */
import type { GateErrorCode } from '../errors.js';
import type { ScanLimits } from './scan-limits.js';

export type EntryKind = 'file' | 'directory' | 'symlink' | 'other';

export interface ArtifactEntry {
  /**
   * Relative path, `/`-separated, no leading `./`. Inside an image layer: the absolute path in the
   * image. Inside a nested archive: the archive's path, `!/`, and the path within it
   * (`vendor.tar.gz!/keys/deploy.pem`).
   */
  readonly path: string;
  readonly kind: EntryKind;
  readonly size: number;
  /** Digest of the image layer blob this entry came from, when the artifact is an OCI image layout. */
  readonly layer?: string;
  /** The bytes, captured only for entries the caller asked for and no larger than the capture limit. */
  readonly content?: Buffer;
  /** True when the caller wanted the content but the entry was larger than the capture limit. */
  readonly contentSkipped?: boolean;
  /** What the caller's text scan (ReadArtifactOptions.scanText) found in this text file; absent when it was not scanned. */
  readonly contentMatches?: readonly ContentMatch[];
}

/** One rule that matched inside a text file: which rule and on which line (never the matched value). */
export interface ContentMatch {
  readonly ruleId: string;
  readonly description: string;
  /** 1-based line of the first match. */
  readonly line: number;
}

/** A scan of one text file, fed its decoded text in order. */
export interface TextScan {
  write(text: string): void;
  finish(): readonly ContentMatch[];
}

/** Codes of the problems that reading an artifact reports instead of refusing it outright. */
export type ScanIssueCode = Extract<
  GateErrorCode,
  | 'GATE_CONTENT_UNSCANNED'
  | 'GATE_ARCHIVE_NESTING_LIMIT'
  | 'GATE_ARCHIVE_EXPANSION_LIMIT'
  | 'GATE_ARCHIVE_PATH_TRAVERSAL'
  | 'GATE_ARCHIVE_ABSOLUTE_PATH'
  | 'GATE_ARCHIVE_LINK_ESCAPE'
  | 'GATE_ARCHIVE_SPECIAL_FILE'
>;

/**
 * Something in the artifact that the gate could not inspect (a limit, a format) or that is unsafe
 * to unpack (traversal, absolute path, escaping link, device). The artifact is still read to the end.
 */
export interface ScanIssue {
  readonly code: ScanIssueCode;
  /** The entry it concerns, named as in ArtifactEntry.path (as written in the archive for unsafe names). */
  readonly path: string;
  readonly message: string;
  readonly layer?: string;
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
  /** Parts that were not inspected, or are unsafe to unpack; empty when the whole artifact was read. */
  readonly issues: readonly ScanIssue[];
}

export interface ReadArtifactOptions {
  /** Which entries to capture the bytes of (by path). */
  readonly wantContent?: (path: string) => boolean;
  /** Largest entry captured, in bytes. */
  readonly maxContentBytes?: number;
  /** Look inside archives: OCI image layers and tar, tar+gzip or gzip files anywhere in the artifact. */
  readonly scanImageLayers?: boolean;
  /** Caps on text scanning, archive nesting and decompression; DEFAULT_SCAN_LIMITS for those not given. */
  readonly limits?: Partial<ScanLimits>;
  /** Opens a scan for each text file (inside archives too); its matches become the entry's contentMatches. */
  readonly scanText?: (path: string) => TextScan;
}

/** An artifact held in memory: its files by relative path. Read (and digested) as a directory. */
export interface MemoryArtifact {
  readonly files: readonly { readonly path: string; readonly bytes: Uint8Array }[];
}

/** Every source readArtifact accepts: a directory path, a tarball path, tarball bytes, or files in memory. */
export type ArtifactSource = string | Uint8Array | MemoryArtifact;
