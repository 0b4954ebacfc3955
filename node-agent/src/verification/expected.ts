import type { ArtifactKind } from '@medfed/proto/manifest/index';

/** Which stored kind a task names (ChainLink.kind); 'weights' for a plaintext model. */
export type ChainKind = 'weights' | 'update-sum' | 'stats-sum';

/** What a download must be: the job defaults to the task's job; round, kinds and blob come from the task. */
export interface ExpectedDownload {
  readonly round: number;
  readonly kinds: readonly ArtifactKind[];
  readonly blob: string;
  /** Overrides the job the download is for (tests); default: the job named in the request. */
  readonly job?: string;
  /**
   * Epoch milliseconds until which a download refused for too few cosignatures is tried again (the
   * task's deadline); absent or 0: DEFAULT_COSIGNATURE_WAIT_MS from the first attempt.
   */
  readonly deadlineMs?: number;
}

/**
 * Manifest kind and blob name per stored kind, as the coordinator publishes them
 * (coordinator/src/publishing/artifact-kinds.ts): the blob name keeps a statistics sum from being
 * passed off as a round sum, and the other way round.
 */
const PUBLISHED: Readonly<Record<ChainKind, { kind: ArtifactKind; blob: string }>> = {
  weights: { kind: 'global-model', blob: 'model.bin' },
  'update-sum': { kind: 'encrypted-global-model', blob: 'update-sum.bin' },
  'stats-sum': { kind: 'encrypted-global-model', blob: 'stats-sum.bin' },
};

/**
 * The expectation for a task's model (or chain link): that round, that kind, that blob; with the
 * task's deadline, until when a download short of cosignatures is tried again.
 */
export function expectedArtifact(link: { readonly round: number; readonly kind: ChainKind }, deadlineMs?: number): ExpectedDownload {
  const p = PUBLISHED[link.kind];
  return { round: link.round, kinds: [p.kind], blob: p.blob, ...(deadlineMs ? { deadlineMs } : {}) };
}
