import type { JobSpec } from '@medfed/proto';
import type { RoundKind } from './rows.js';

/** Which sites a round waits for, and what each is asked to do. */
export type SiteDuty = 'stats' | 'train' | 'evaluate';

export function dutyOf(spec: JobSpec, siteId: string, kind: RoundKind): SiteDuty | null {
  const trainer = spec.sites.includes(siteId);
  const evaluator = spec.evaluators?.includes(siteId) ?? false;
  if (kind === 'stats') return trainer ? 'stats' : null; // held-out test data never shapes the model
  if (kind === 'train') return trainer ? 'train' : evaluator ? 'evaluate' : null;
  return trainer || evaluator ? 'evaluate' : null;
}

/** Every site of a job: its training sites, then its evaluators. */
export function participantsOf(spec: Pick<JobSpec, 'sites' | 'evaluators'>): string[] {
  return [...spec.sites, ...(spec.evaluators ?? [])];
}

export function expectedSites(spec: JobSpec, kind: RoundKind): string[] {
  return participantsOf(spec).filter((s) => dutyOf(spec, s, kind) !== null);
}

export function featureStatsLength(spec: JobSpec): number {
  return 1 + 2 * spec.features.length;
}
