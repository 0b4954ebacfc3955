import { MaskingError } from './errors.js';
import type { SensitivityClass, TransformName } from './schema.js';

export const ROLES = ['clinician', 'researcher', 'auditor', 'training', 'site-steward'] as const;
export type Role = (typeof ROLES)[number];

/** `field-default`: the transform the Safe Harbor table gives that field (see safe-harbor.ts). */
type DefaultTransform = TransformName | 'field-default';

/**
 * What each role gets per sensitivity class when the site policy says nothing. The auditor is not
 * here: it sees metadata only (field names, types, classes, counts), never a value.
 * - clinician: everything, but only for patients of the clinician's own site.
 * - site-steward: everything (the steward administers the site's data).
 * - researcher: Safe Harbor defaults (names redacted, record numbers pseudonymised, dates to year,
 *   ZIP to 3 digits, ages 90+), clinical values as they are, sensitive conditions withheld.
 * - training: only the job's approved features; quasi-identifiers coarsened like for researchers.
 */
export const ROLE_DEFAULTS: Readonly<Record<Exclude<Role, 'auditor'>, Readonly<Record<SensitivityClass, DefaultTransform>>>> = {
  clinician: { 'direct-identifier': 'full', 'quasi-identifier': 'full', clinical: 'full', 'sensitive-clinical': 'full' },
  'site-steward': { 'direct-identifier': 'full', 'quasi-identifier': 'full', clinical: 'full', 'sensitive-clinical': 'full' },
  researcher: { 'direct-identifier': 'field-default', 'quasi-identifier': 'field-default', clinical: 'full', 'sensitive-clinical': 'redact' },
  training: { 'direct-identifier': 'redact', 'quasi-identifier': 'field-default', clinical: 'full', 'sensitive-clinical': 'full' },
};

/** Roles whose output is de-identified: no direct identifier and no exact quasi-identifier combination. */
export const DEIDENTIFIED_ROLES: ReadonlySet<Role> = new Set(['researcher', 'training']);

export function parseRole(value: unknown): Role {
  if (typeof value === 'string' && (ROLES as readonly string[]).includes(value)) return value as Role;
  throw new MaskingError('MASK_UNKNOWN_ROLE', `role ${JSON.stringify(value)} is not one of ${ROLES.join(', ')}`);
}
