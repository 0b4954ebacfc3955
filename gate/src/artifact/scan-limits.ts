/**
 * How far the gate reads into an artifact before it stops and says so. Reaching a limit never
 * skips anything silently: the part left unread becomes a scan issue, which staging and prod stop on.
 */
export interface ScanLimits {
  /** Largest text file searched for secrets, in bytes. */
  readonly maxTextBytes: number;
  /** Archives inside archives: a layer or a vendor.tar.gz in the artifact is depth 1. */
  readonly maxArchiveDepth: number;
  /** Decompressed bytes per compressed byte, judged for each compressed stream once it passed RATIO_GRACE_BYTES. */
  readonly maxExpansionRatio: number;
  /** Decompressed bytes over the whole artifact (its own gzip, image layers, nested archives). */
  readonly maxExpandedBytes: number;
}

export const DEFAULT_SCAN_LIMITS: ScanLimits = {
  maxTextBytes: 64 * 1024 * 1024,
  maxArchiveDepth: 3,
  maxExpansionRatio: 100,
  maxExpandedBytes: 4 * 1024 * 1024 * 1024,
};

/** A small stream may expand at any ratio (a tiny sparse file does); a bomb cannot stay under this. */
export const RATIO_GRACE_BYTES = 1024 * 1024;

/** The policy file's names for the limits (`limits:` in the policy), with their ScanLimits keys. */
export const POLICY_LIMIT_KEYS = {
  max_text_bytes: 'maxTextBytes',
  max_archive_depth: 'maxArchiveDepth',
  max_expansion_ratio: 'maxExpansionRatio',
  max_expanded_bytes: 'maxExpandedBytes',
} as const satisfies Record<string, keyof ScanLimits>;
