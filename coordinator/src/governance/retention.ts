import type { Roster } from '@medfed/proto/governance/index';
import { AUDIT_MIN_RETENTION_DAYS } from '../audit/store/purge.js';

/**
 * How long audit entries are kept: the longest of the code's minimum (six years), the configured
 * `audit.retentionDays` and the installed roster's `rules.auditRetentionDays`. The configuration
 * can only lengthen it, and so can the hospitals' signed rule: neither can shorten the other.
 */
export function effectiveRetentionDays(configured: number | undefined, roster: Roster | null | undefined): number {
  return Math.max(AUDIT_MIN_RETENTION_DAYS, configured ?? AUDIT_MIN_RETENTION_DAYS, roster?.rules?.auditRetentionDays ?? 0);
}
