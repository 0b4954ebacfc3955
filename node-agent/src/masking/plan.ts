import { MaskingError } from './errors.js';
import { transformOf, type SitePolicy, type TransformSpec } from './policy.js';
import { DEIDENTIFIED_ROLES, ROLE_DEFAULTS, type Role } from './roles.js';
import { TRANSFORMS, isOneOf, type DatasetSchema, type FieldSchema, type TransformName } from './schema.js';

/** The transform one field gets for one role, and where that decision came from. */
export interface FieldPlan {
  readonly field: FieldSchema;
  readonly transform: TransformName;
  readonly spec: TransformSpec;
  readonly source: 'policy-field' | 'policy-class' | 'default' | 'request' | 'not-approved' | 'metadata-only';
}

export interface PlanRequest {
  readonly role: Role;
  /** Training only: the job's approved features. */
  readonly features?: readonly string[];
  /** Transforms the requester asks for, per field; granted only when no looser than the policy's. */
  readonly requested?: Readonly<Record<string, TransformName>>;
  /**
   * Check the de-identification rails over every shown field (default). A query checker turns this
   * off and checks only the fields the query returns.
   */
  readonly enforceRails?: boolean;
}

export interface MaskPlan {
  readonly role: Role;
  readonly fields: readonly FieldPlan[];
  readonly notes: readonly string[];
}

/**
 * Decides the transform of every field: policy field rule, else policy class rule, else the role's
 * default (which for de-identified roles is the Safe Harbor table's), then a requested transform
 * only where it is at least as strict (same, `redact`, or anything over `full`). Then checks the
 * de-identification rails for researchers and training.
 */
export function planMasking(schema: DatasetSchema, policy: SitePolicy, request: PlanRequest): MaskPlan {
  const notes: string[] = [];
  const fields = schema.fields.map((f) => reclassify(f, policy));
  const known = new Set(fields.map((f) => f.name));
  for (const name of Object.keys(request.requested ?? {})) {
    if (!known.has(name)) throw new MaskingError('MASK_UNKNOWN_FIELD', `requested transform for field "${name}", which the dataset does not have`);
  }
  const role = request.role;
  if (role === 'auditor') {
    return { role, fields: fields.map((field) => ({ field, transform: 'redact', spec: 'redact', source: 'metadata-only' })), notes };
  }
  const approved = role === 'training' ? approvedFeatures(fields, request.features) : undefined;
  const plans = fields.map((field): FieldPlan => {
    if (approved !== undefined && !approved.has(field.name)) {
      return { field, transform: 'redact', spec: 'redact', source: 'not-approved' };
    }
    const granted = grantedSpec(field, policy, role);
    const asked = request.requested?.[field.name];
    if (asked === undefined || asked === transformOf(granted.spec)) return granted;
    if (!isOneOf(TRANSFORMS, asked)) throw new MaskingError('MASK_INVALID_POLICY', `requested transform for field "${field.name}" is not one of ${TRANSFORMS.join(', ')}`);
    if (stricterOrEqual(asked, transformOf(granted.spec))) return { field, transform: asked, spec: asked, source: 'request' };
    notes.push(`field "${field.name}": requested ${asked}, the site policy grants ${granted.transform}; ${granted.transform} applied`);
    return granted;
  });
  if (DEIDENTIFIED_ROLES.has(role) && request.enforceRails !== false) assertDeidentified(plans, role);
  return { role, fields: plans, notes };
}

function grantedSpec(field: FieldSchema, policy: SitePolicy, role: Exclude<Role, 'auditor'>): FieldPlan {
  const rolePolicy = policy.roles?.[role];
  const byField = rolePolicy?.fields?.[field.name];
  if (byField !== undefined) return { field, transform: transformOf(byField), spec: byField, source: 'policy-field' };
  const byClass = rolePolicy?.byClass?.[field.class];
  if (byClass !== undefined) return { field, transform: transformOf(byClass), spec: byClass, source: 'policy-class' };
  const fallback = ROLE_DEFAULTS[role][field.class];
  const transform = fallback === 'field-default' ? (field.defaultTransform ?? classFallback(field)) : fallback;
  // A noise transform needs parameters only a policy can give: without them the field is withheld.
  const safe = transform === 'noise' ? 'redact' : transform;
  return { field, transform: safe, spec: safe, source: 'default' };
}

function classFallback(field: FieldSchema): TransformName {
  if (field.class === 'direct-identifier') return 'redact';
  if (field.class === 'quasi-identifier') return field.generalization === undefined ? 'redact' : 'generalize';
  return 'full';
}

/** `redact` is stricter than anything, anything is stricter than `full`; the rest do not compare. */
function stricterOrEqual(asked: TransformName, granted: TransformName): boolean {
  return asked === granted || asked === 'redact' || (granted === 'full' && asked !== 'noise');
}

function reclassify(field: FieldSchema, policy: SitePolicy): FieldSchema {
  const cls = policy.fieldClasses?.[field.name];
  return cls === undefined || cls === field.class ? field : { ...field, class: cls };
}

function approvedFeatures(fields: readonly FieldSchema[], features: readonly string[] | undefined): Set<string> {
  if (features === undefined || features.length === 0) {
    throw new MaskingError('MASK_FEATURES_REQUIRED', "the training role needs the job's approved feature list");
  }
  for (const name of features) {
    const field = fields.find((f) => f.name === name);
    if (field === undefined) throw new MaskingError('MASK_UNKNOWN_FIELD', `approved feature "${name}" is not a field of the dataset`);
    if (field.class === 'direct-identifier') {
      throw new MaskingError('MASK_DIRECT_IDENTIFIER', `approved feature "${name}" is a direct identifier; a training job may not use it`);
    }
  }
  return new Set(features);
}

/** Fields whose exact value Safe Harbor restricts (dates, ZIP, ages, geography...). */
function isRestrictedQuasiIdentifier(field: FieldSchema): boolean {
  return field.class === 'quasi-identifier' && (field.defaultTransform ?? 'generalize') !== 'full';
}

/**
 * The rails for researchers and training, above the site policy: no direct identifier in clear,
 * and no exact combination of quasi-identifiers that involves a restricted one (exact date of birth
 * with sex, say). Coarse demographics Safe Harbor allows (sex, state) may appear together.
 * `inOutput` limits the check to the fields a query actually returns.
 */
export function assertDeidentified(plans: readonly FieldPlan[], role: Role, inOutput?: ReadonlySet<string>): void {
  const shown = plans.filter((p) => p.transform !== 'redact' && (inOutput === undefined || inOutput.has(p.field.name)));
  const clearIdentifier = shown.find((p) => p.field.class === 'direct-identifier' && p.transform === 'full');
  if (clearIdentifier !== undefined) {
    throw new MaskingError(
      'MASK_DIRECT_IDENTIFIER',
      `field "${clearIdentifier.field.name}" is a direct identifier and would be shown in full to role ${role}; ` +
        'it may only be pseudonymised or redacted for this role (change the site policy)',
      { field: clearIdentifier.field.name },
    );
  }
  const exactQuasi = shown.filter((p) => p.field.class === 'quasi-identifier' && p.transform === 'full');
  if (exactQuasi.length >= 2 && exactQuasi.some((p) => isRestrictedQuasiIdentifier(p.field))) {
    const names = exactQuasi.map((p) => `"${p.field.name}"`).join(', ');
    throw new MaskingError(
      'MASK_QUASI_IDENTIFIER_COMBINATION',
      `fields ${names} are quasi-identifiers that would be shown exactly together to role ${role}; generalise or redact all but one of them`,
      { fields: exactQuasi.map((p) => p.field.name) },
    );
  }
}
