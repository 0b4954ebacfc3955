import type { AuditFilter } from '@medfed/proto/audit/index';
import { AuditStoreError } from '../errors.js';

export interface ExportFilterInput {
  readonly from?: string | Date | null;
  readonly to?: string | Date | null;
  readonly job?: string | null;
  readonly site?: string | null;
}

export interface NormalizedFilter {
  readonly from: string | null;
  readonly to: string | null;
  readonly job: string | null;
  readonly site: string | null;
}

const JOB = /^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}$/;
const SITE = /^[a-z0-9][a-z0-9-]{0,62}$/;

function time(name: 'from' | 'to', value: string | Date | null | undefined): string | null {
  if (value === null || value === undefined || value === '') return null;
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime()) || (typeof value === 'string' && !/^\d{4}-\d{2}-\d{2}/.test(value))) {
    throw new AuditStoreError('AUDIT_EXPORT_FILTER_INVALID', `--${name} must be an ISO 8601 date or time such as 2025-01-31 or 2025-01-31T12:00:00Z; got ${JSON.stringify(String(value))}`);
  }
  return d.toISOString();
}

/** Checks an export filter and spells its times as UTC instants (the form stored in the manifest). */
export function normalizeExportFilter(input: ExportFilterInput): NormalizedFilter & AuditFilter {
  const from = time('from', input.from);
  const to = time('to', input.to);
  if (from && to && from > to) {
    throw new AuditStoreError('AUDIT_EXPORT_FILTER_INVALID', `--from (${from}) is after --to (${to})`);
  }
  const job = input.job ? input.job : null;
  if (job !== null && !JOB.test(job)) throw new AuditStoreError('AUDIT_EXPORT_FILTER_INVALID', `--job must be a job id (letters, digits and ._:@/+-); got ${JSON.stringify(job)}`);
  const site = input.site ? input.site : null;
  if (site !== null && !SITE.test(site)) throw new AuditStoreError('AUDIT_EXPORT_FILTER_INVALID', `--site must be a site id (lowercase letters, digits and -); got ${JSON.stringify(site)}`);
  return { from, to, job, site };
}
