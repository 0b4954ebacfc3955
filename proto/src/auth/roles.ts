/** People's roles. Nodes (agents) have the role `node`, which only key-bound tokens carry. */
export const PERSON_ROLES = ['admin', 'site-steward', 'researcher', 'clinician', 'auditor'] as const;
export type PersonRole = (typeof PERSON_ROLES)[number];

export const NODE_ROLE = 'node';
export type Role = PersonRole | typeof NODE_ROLE;

/** Roles that act for one site only: their credentials name a site and the policy scopes them to it. */
export const SITE_BOUND_ROLES: readonly PersonRole[] = ['site-steward', 'clinician'];

export function isPersonRole(value: unknown): value is PersonRole {
  return typeof value === 'string' && (PERSON_ROLES as readonly string[]).includes(value);
}
