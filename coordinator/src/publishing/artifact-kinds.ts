import type { ArtifactKind } from '@medfed/proto/manifest/index';
import type { ModelRow } from '../federation/rows.js';

/**
 * How each stored model kind is published: its manifest kind and its blob name. The blob name
 * separates an encrypted round sum from a statistics sum (both are encrypted aggregates), so a site
 * that expects one cannot be handed the other. node-agent/src/verification/expected.ts mirrors it.
 */
export const PUBLISHED_KINDS: Readonly<Record<ModelRow['kind'], { readonly kind: ArtifactKind; readonly blob: string }>> = {
  weights: { kind: 'global-model', blob: 'model.bin' },
  'update-sum': { kind: 'encrypted-global-model', blob: 'update-sum.bin' },
  'stats-sum': { kind: 'encrypted-global-model', blob: 'stats-sum.bin' },
  released: { kind: 'released-model', blob: 'model.bin' },
};

export const MODEL_KINDS = Object.keys(PUBLISHED_KINDS) as readonly ModelRow['kind'][];
