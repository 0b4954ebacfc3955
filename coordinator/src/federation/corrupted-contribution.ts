import { FederationError } from './errors.js';

/**
 * Thrown while a round's stored uploads are read for aggregation, when one no longer matches the
 * digest recorded at admission (or its payload is gone): the sum is abandoned before it is used,
 * and the round excludes that contribution (federation/engine.ts, `excludeCorrupted`).
 */
export class CorruptedContributionError extends FederationError {
  readonly contributionId: string;
  readonly siteId: string;
  readonly round: number;

  constructor(c: { id: string; site_id: string; round: number }, why: string) {
    super('CONTRIBUTION_CORRUPTED', `the stored update ${c.id} of site ${c.site_id} (round ${c.round}) ${why}`);
    this.contributionId = c.id;
    this.siteId = c.site_id;
    this.round = c.round;
  }
}
