import { InvalidArgumentError } from 'commander';
import { MIN_ENCRYPTED_SITES, type SemiAsyncSettings } from '@medfed/proto';
import { SimulateError } from './errors.js';

/** The most a simulation slows a site: beyond this a run mostly waits. */
export const MAX_TRAINING_SLOWDOWN = 100;

/** Commander's parser for `--slow-site FACTOR`: a number from 1 to MAX_TRAINING_SLOWDOWN. */
export function parseSlowdown(value: string): number {
  const factor = value.trim() === '' ? Number.NaN : Number(value);
  if (!Number.isFinite(factor) || factor < 1 || factor > MAX_TRAINING_SLOWDOWN) {
    throw new InvalidArgumentError(`must be a number from 1 to ${MAX_TRAINING_SLOWDOWN} (the slowed site's training takes FACTOR times as long)`);
  }
  return factor;
}

/**
 * Refuses, before anything starts, what the coordinator would refuse at job creation: a round that
 * closes after more updates than there are training sites, or (encrypted) after fewer than the
 * encryption minimum, since every round's sum must hold at least that many updates.
 */
export function checkSemiAsyncFits(semiAsync: SemiAsyncSettings, trainingSites: number, encrypted: boolean): void {
  if (semiAsync.closeAfter > trainingSites) {
    throw new SimulateError('SIMULATE_ARGUMENT_INVALID', `--close-after ${semiAsync.closeAfter} exceeds the ${trainingSites} training sites (--sites)`);
  }
  if (encrypted && semiAsync.closeAfter < MIN_ENCRYPTED_SITES) {
    throw new SimulateError('SIMULATE_ARGUMENT_INVALID',
      `--close-after ${semiAsync.closeAfter}: an encrypted round sums at least ${MIN_ENCRYPTED_SITES} updates; use --close-after ${MIN_ENCRYPTED_SITES} or more (or --plaintext)`);
  }
}

/** The slowed site: the last training site, or null without `--slow-site`. */
export function slowSiteOf(trainingSites: readonly string[], factor: number | undefined): { site: string; factor: number } | null {
  const site = trainingSites.at(-1);
  return factor === undefined || site === undefined ? null : { site, factor };
}

/** One line for the human output on how rounds close. */
export function semiAsyncLine(semiAsync: SemiAsyncSettings | null, trainingSites: number): string {
  if (!semiAsync) return `synchronous rounds: each round waits for all ${trainingSites} training sites`;
  return `semi-asynchronous rounds: a round closes at the first ${semiAsync.closeAfter} of ${trainingSites} training sites' updates; `
    + `a late update counts in the round open when it arrives, weighted 1/sqrt(1 + staleness), up to staleness ${semiAsync.maxStaleness}`;
}

/** One line for the human output naming the slowed site. */
export function slowSiteLine(slow: { site: string; factor: number }): string {
  return `${slow.site} is slowed: after training it waits ${slow.factor - 1} x its training time before uploading (development.trainingSlowdown ${slow.factor})`;
}
