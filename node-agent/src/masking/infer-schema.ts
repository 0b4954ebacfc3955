import { looksLikeBirthDates } from './birth-date-values.js';
import { meaningOfName } from './field-meaning.js';
import { classifyFieldName, normaliseFieldName } from './safe-harbor.js';
import type { DatasetSchema, FieldSchema } from './schema.js';
import { parseDate, parseDateYear } from './transforms/date.js';

export interface InferredSchema {
  readonly schema: DatasetSchema;
  /** One line per field that matched no Safe Harbor rule and was classified from its values. */
  readonly notes: readonly string[];
}

export interface InferOptions {
  /** Reference date for recognising birth dates by their values (default now: the masking run's date). */
  readonly now?: Date;
}

const SITE_FIELD = /^(site|site_id|site_code|hospital_id|hospital_code)$/;

/** Safe Harbor (C) fields for birth dates and years, whichever way they were recognised. */
export const BIRTH_DATE_FIELD = { type: 'date', class: 'quasi-identifier', identifier: 'birth-date', generalization: 'birth-date', defaultTransform: 'generalize' } as const;
export const BIRTH_YEAR_FIELD = { type: 'integer', class: 'quasi-identifier', identifier: 'birth-year', generalization: 'birth-year', defaultTransform: 'generalize' } as const;

/**
 * A schema for data that came without one: field names go through the Safe Harbor table; other
 * fields are classified from their values, closed by default: numbers and booleans are `clinical`,
 * date-like text is a quasi-identifier date, any other text is `sensitive-clinical` (redacted for
 * researchers) because free text may carry identifiers. A column of dates that looks like dates of
 * birth (birth-date-values.ts) is a birth date, and so is a column of dates named only "birth".
 * A steward's schema file replaces all this.
 */
export function inferSchema(columns: readonly string[], rows: readonly Readonly<Record<string, unknown>>[], options: InferOptions = {}): InferredSchema {
  const now = options.now ?? new Date();
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
    const normalised = normaliseFieldName(name);
    if (SITE_FIELD.test(normalised)) return { name, type: 'category', class: 'clinical' };
    const values = rows.map((r) => r[name]);
    const kind = valueKind(values);
    const texts = present(values);
    if (meaningOfName(normalised) === 'birth-hint' && texts.length > 0 && texts.every((v) => parseDate(v) !== undefined)) {
      const years = texts.every((v) => /^\d{4}$/.test(v));
      notes.push(`field "${name}" is named for a birth and holds ${years ? 'years' : 'dates'}: treated as a birth ${years ? 'year' : 'date'}`);
      return { name, ...(years ? BIRTH_YEAR_FIELD : BIRTH_DATE_FIELD) };
    }
    if (kind.class === 'quasi-identifier' && looksLikeBirthDates(values, now)) {
      notes.push(`field "${name}" matched no identifier rule; its dates look like dates of birth, so it is treated as a birth date (declare it in a schema file to change this)`);
      return { name, ...BIRTH_DATE_FIELD };
    }
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

function present(values: readonly unknown[]): string[] {
  return values.filter((v) => v !== null && v !== undefined && String(v).trim() !== '').map((v) => String(v).trim());
}

function valueKind(values: readonly unknown[]): Pick<FieldSchema, 'type' | 'class'> {
  const texts = present(values);
  if (texts.length === 0) return { type: 'string', class: 'sensitive-clinical' };
  // Digits that are all valid compact dates (YYYYMMDD, with HHMM or HHMMSS) are dates, not numbers.
  if (texts.every((v) => /^\d{8}(\d{4}(\d{2})?)?$/.test(v) && inRange(parseDateYear(v), 1800, 2200))) return { type: 'date', class: 'quasi-identifier' };
  if (texts.every((v) => /^[-+]?\d+$/.test(v))) return { type: 'integer', class: 'clinical' };
  if (texts.every((v) => /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v))) return { type: 'number', class: 'clinical' };
  if (texts.every((v) => /^(true|false|yes|no|0|1|y|n)$/i.test(v))) return { type: 'boolean', class: 'clinical' };
  if (texts.every((v) => parseDateYear(v) !== undefined)) return { type: 'date', class: 'quasi-identifier' };
  return { type: 'string', class: 'sensitive-clinical' };
}

function inRange(x: number | undefined, lo: number, hi: number): boolean {
  return x !== undefined && x >= lo && x <= hi;
}
