import { MaskingError } from './errors.js';

export const SENSITIVITY_CLASSES = ['direct-identifier', 'quasi-identifier', 'clinical', 'sensitive-clinical'] as const;
export type SensitivityClass = (typeof SENSITIVITY_CLASSES)[number];

export const FIELD_TYPES = ['string', 'integer', 'number', 'date', 'boolean', 'category'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export const TRANSFORMS = ['full', 'generalize', 'pseudonymize', 'noise', 'redact'] as const;
export type TransformName = (typeof TRANSFORMS)[number];

/** How `generalize` coarsens a field. */
export const GENERALIZATIONS = ['age', 'date', 'birth-date', 'birth-year', 'zip', 'numeric', 'suppress'] as const;
export type Generalization = (typeof GENERALIZATIONS)[number];

export interface FieldSchema {
  readonly name: string;
  readonly type: FieldType;
  readonly class: SensitivityClass;
  /** The HIPAA Safe Harbor identifier type (164.514(b)(2)(i)) the field holds, when it holds one. */
  readonly identifier?: string;
  readonly generalization?: Generalization;
  /** What researchers get by default (from the Safe Harbor table); the site policy overrides it. */
  readonly defaultTransform?: TransformName;
}

export interface DatasetSchema {
  readonly fields: readonly FieldSchema[];
  /** The field that identifies a patient: opt-outs are matched on it. */
  readonly patientIdField?: string;
  /** The field naming the site a patient belongs to (clinicians only see their own site's). */
  readonly siteField?: string;
  /**
   * The field listing a patient's care team (user ids separated by `;`, `,`, `|` or spaces): a
   * clinician calling the local query API sees only patients whose care team names them.
   */
  readonly careTeamField?: string;
}

/** Validates a schema read from a file (JSON). */
export function parseSchema(value: unknown, source = 'schema'): DatasetSchema {
  const fail = (why: string): never => {
    throw new MaskingError('MASK_INVALID_SCHEMA', `${source}: ${why}`);
  };
  if (typeof value !== 'object' || value === null || !Array.isArray((value as { fields?: unknown }).fields)) {
    return fail('expected an object with a "fields" list');
  }
  const raw = value as { fields: unknown[]; patientIdField?: unknown; siteField?: unknown; careTeamField?: unknown };
  const names = new Set<string>();
  const fields = raw.fields.map((f, index): FieldSchema => {
    if (typeof f !== 'object' || f === null) return fail(`field ${index} is not an object`);
    const field = f as Record<string, unknown>;
    const name = field['name'];
    if (typeof name !== 'string' || name === '') return fail(`field ${index} has no name`);
    if (names.has(name)) return fail(`field "${name}" is declared twice`);
    names.add(name);
    const type = field['type'];
    if (!isOneOf(FIELD_TYPES, type)) return fail(`field "${name}": type must be one of ${FIELD_TYPES.join(', ')}`);
    const cls = field['class'];
    if (!isOneOf(SENSITIVITY_CLASSES, cls)) return fail(`field "${name}": class must be one of ${SENSITIVITY_CLASSES.join(', ')}`);
    const out: { -readonly [K in keyof FieldSchema]: FieldSchema[K] } = { name, type, class: cls };
    const identifier = field['identifier'];
    if (identifier !== undefined) {
      if (typeof identifier !== 'string') return fail(`field "${name}": identifier must be a text`);
      out.identifier = identifier;
    }
    const generalization = field['generalization'];
    if (generalization !== undefined) {
      if (!isOneOf(GENERALIZATIONS, generalization)) return fail(`field "${name}": generalization must be one of ${GENERALIZATIONS.join(', ')}`);
      out.generalization = generalization;
    }
    const defaultTransform = field['defaultTransform'];
    if (defaultTransform !== undefined) {
      if (!isOneOf(TRANSFORMS, defaultTransform)) return fail(`field "${name}": defaultTransform must be one of ${TRANSFORMS.join(', ')}`);
      out.defaultTransform = defaultTransform;
    }
    return out;
  });
  const schema: { -readonly [K in keyof DatasetSchema]: DatasetSchema[K] } = { fields };
  for (const key of ['patientIdField', 'siteField', 'careTeamField'] as const) {
    const ref = raw[key];
    if (ref === undefined) continue;
    if (typeof ref !== 'string' || !names.has(ref)) return fail(`${key} must name one of the fields`);
    schema[key] = ref;
  }
  return schema;
}

export function isOneOf<T extends string>(values: readonly T[], x: unknown): x is T {
  return typeof x === 'string' && (values as readonly string[]).includes(x);
}

export function fieldByName(schema: DatasetSchema, name: string): FieldSchema | undefined {
  return schema.fields.find((f) => f.name === name);
}
