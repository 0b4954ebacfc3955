import { classifyFieldName, normaliseFieldName } from './safe-harbor.js';
import type { DatasetSchema, FieldSchema } from './schema.js';
import { parseDateYear } from './transforms/date.js';

export interface InferredSchema {
  readonly schema: DatasetSchema;
  /** One line per field that matched no Safe Harbor rule and was classified from its values. */
  readonly notes: readonly string[];
}

const SITE_FIELD = /^(site|site_id|site_code|hospital_id|hospital_code)$/;

/**
 * A schema for data that came without one: field names go through the Safe Harbor table; other
 * fields are classified from their values, closed by default: numbers and booleans are `clinical`,
 * date-like text is a quasi-identifier date, any other text is `sensitive-clinical` (redacted for
 * researchers) because free text may carry identifiers. A steward's schema file replaces all this.
 */
export function inferSchema(columns: readonly string[], rows: readonly Readonly<Record<string, unknown>>[]): InferredSchema {
  const notes: string[] = [];
  const fields = columns.map((name): FieldSchema => {
    const rule = classifyFieldName(name);
    if (rule !== undefined) {
      return {
        name,
        type: rule.type,
        class: rule.class,
        identifier: rule.identifier,
        defaultTransform: rule.defaultTransform,
        ...(rule.generalization === undefined ? {} : { generalization: rule.generalization }),
      };
    }
    if (SITE_FIELD.test(normaliseFieldName(name))) return { name, type: 'category', class: 'clinical' };
    const kind = valueKind(rows.map((r) => r[name]));
    notes.push(`field "${name}" matched no identifier rule; classified ${kind.class} from its values (declare it in a schema file to change this)`);
    return kind.class === 'quasi-identifier'
      ? { name, type: 'date', class: 'quasi-identifier', generalization: 'date', defaultTransform: 'generalize' }
      : { name, type: kind.type, class: kind.class };
  });
  const patientId = fields.find((f) => f.identifier === 'medical-record-number');
  const site = fields.find((f) => SITE_FIELD.test(normaliseFieldName(f.name)));
  return {
    schema: {
      fields,
      ...(patientId === undefined ? {} : { patientIdField: patientId.name }),
      ...(site === undefined ? {} : { siteField: site.name }),
    },
    notes,
  };
}

function valueKind(values: readonly unknown[]): Pick<FieldSchema, 'type' | 'class'> {
  const present = values.filter((v) => v !== null && v !== undefined && String(v).trim() !== '').map((v) => String(v).trim());
  if (present.length === 0) return { type: 'string', class: 'sensitive-clinical' };
  if (present.every((v) => /^[-+]?\d+$/.test(v))) return { type: 'integer', class: 'clinical' };
  if (present.every((v) => /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v))) return { type: 'number', class: 'clinical' };
  if (present.every((v) => /^(true|false|yes|no|0|1|y|n)$/i.test(v))) return { type: 'boolean', class: 'clinical' };
  if (present.every((v) => parseDateYear(v) !== undefined)) return { type: 'date', class: 'quasi-identifier' };
  return { type: 'string', class: 'sensitive-clinical' };
}
