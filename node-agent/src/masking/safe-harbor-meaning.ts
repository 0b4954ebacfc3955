import { looksLikeBirthDates } from './birth-date-values.js';
import { meaningOfName } from './field-meaning.js';
import { normaliseFieldName } from './safe-harbor.js';
import type { FieldSchema, Generalization } from './schema.js';
import { generalizationOf } from './transforms/generalize.js';

/**
 * Safe Harbor by meaning, whatever schema the records come with (a steward's file or an inferred
 * one): a quasi-identifier that would be generalised as an ordinary date or number, but whose name
 * means a birth date, a birth year or an age, or whose name says nothing while its dates look like
 * dates of birth (birth-date-values.ts), is generalised as what it is, so that ages over 89 and the
 * birth years that imply them are top-coded. Only ever stricter, and only the kind of generalisation
 * changes, never whether a field is generalised: declared birth-date, birth-year, age, zip and
 * suppress generalisations, and fields (as the site policy classes them) that are not
 * quasi-identifiers, are left as they are.
 */
export function withSafeHarborMeaning(
  fields: readonly FieldSchema[],
  records: readonly Readonly<Record<string, unknown>>[],
  now: Date,
): { readonly fields: readonly FieldSchema[]; readonly notes: readonly string[] } {
  const notes: string[] = [];
  const upgraded = fields.map((field): FieldSchema => {
    if (field.class !== 'quasi-identifier') return field;
    const declared = generalizationOf(field);
    if (declared !== 'date' && declared !== 'numeric') return field;
    const meaning = meaningOfName(normaliseFieldName(field.name));
    let upgrade: Generalization | undefined;
    if (meaning === 'birth-date' || meaning === 'birth-hint') upgrade = declared === 'date' || field.type === 'date' ? 'birth-date' : 'birth-year';
    else if (meaning === 'birth-year') upgrade = 'birth-year';
    else if (meaning === 'age' && declared === 'numeric') upgrade = 'age';
    else if (meaning === undefined && declared === 'date' && looksLikeBirthDates(records.map((r) => r[field.name]), now)) upgrade = 'birth-date';
    if (upgrade === undefined) return field;
    notes.push(`field "${field.name}" holds ${upgrade === 'age' ? 'ages' : upgrade === 'birth-year' ? 'birth years' : 'birth dates'} (by its ${meaning === undefined ? 'values' : 'name'}): generalised as ${upgrade}, 90 and older collapsed`);
    return { ...field, generalization: upgrade, identifier: upgrade };
  });
  return { fields: upgraded, notes };
}
