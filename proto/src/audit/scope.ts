import type { AuditEvent } from './event.js';

/**
 * Which events an export filter selects. The job of an event is its `details.job`, else the id of a
 * leading `job:<id>` resource segment; its site is the `site` field.
 */
export interface AuditFilter {
  readonly from?: string | null;
  readonly to?: string | null;
  readonly job?: string | null;
  readonly site?: string | null;
}

export function eventJob(event: Pick<AuditEvent, 'resource' | 'details'>): string | null {
  const fromDetails = event.details['job'];
  if (typeof fromDetails === 'string') return fromDetails;
  const m = /^job:([^/]+)/.exec(event.resource);
  return m ? m[1]! : null;
}

export function matchesFilter(event: AuditEvent, filter: AuditFilter): boolean {
  const t = Date.parse(event.time);
  if (filter.from && t < Date.parse(filter.from)) return false;
  if (filter.to && t > Date.parse(filter.to)) return false;
  if (filter.job && eventJob(event) !== filter.job) return false;
  if (filter.site && event.site !== filter.site) return false;
  return true;
}
