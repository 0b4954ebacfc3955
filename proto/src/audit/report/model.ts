import type { AuditFilter } from '../scope.js';

/** The compliance report's content, independent of its rendering (HTML, PDF). */
export interface AuditEventRow {
  readonly seq: number;
  readonly time: string;
  readonly actor: string;
  readonly role: string;
  readonly site: string | null;
  readonly action: string;
  readonly resource: string;
  readonly outcome: string;
  readonly rule: string;
  readonly details: string;
}

export interface AccessRow {
  /** The actor, role or site. */
  readonly key: string;
  readonly total: number;
  readonly denied: number;
  readonly failed: number;
  /** Roles (by user), or distinct actors (by role and site). */
  readonly related: readonly string[];
  readonly first: string;
  readonly last: string;
}

export interface PrivacyRow {
  readonly job: string;
  readonly site: string;
  readonly spends: number;
  readonly epsilon: number;
  readonly delta: number;
  readonly epsilonRemaining: number | null;
}

export interface AnomalyRow {
  readonly seq: number | null;
  readonly time: string | null;
  readonly kind: string;
  readonly description: string;
}

export interface Listing<T> {
  readonly total: number;
  /** At most the report's list limit; `total` says how many there were. */
  readonly rows: readonly T[];
}

export interface AuditReport {
  readonly title: string;
  readonly generatedAt: string;
  readonly filter: Required<{ [K in keyof AuditFilter]: string | null }>;
  readonly range: {
    readonly firstSeq: number | null;
    readonly lastSeq: number | null;
    readonly entries: number;
    readonly hashOnly: number;
    readonly firstTime: string | null;
    readonly lastTime: string | null;
  };
  readonly integrity: { readonly verified: boolean; readonly problem: string | null };
  readonly byUser: Listing<AccessRow>;
  readonly byRole: Listing<AccessRow>;
  readonly bySite: Listing<AccessRow>;
  readonly denials: Listing<AuditEventRow>;
  readonly modelReleases: Listing<AuditEventRow>;
  readonly privacy: Listing<PrivacyRow>;
  readonly anomalies: Listing<AnomalyRow>;
}

/** Section ids and headings, shared by both renderings so they stay in step. */
export const AUDIT_REPORT_SECTIONS = [
  { id: 'summary', title: 'Summary' },
  { id: 'integrity', title: 'Integrity' },
  { id: 'access-by-user', title: 'Access by user' },
  { id: 'access-by-role', title: 'Access by role' },
  { id: 'access-by-site', title: 'Access by site' },
  { id: 'denials', title: 'Denials' },
  { id: 'model-releases', title: 'Model releases' },
  { id: 'privacy-budget', title: 'Privacy budget spent' },
  { id: 'anomalies', title: 'Anomalies' },
] as const;
