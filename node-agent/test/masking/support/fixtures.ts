import type { DatasetSchema } from '../../../src/masking/index.js';

/** A small clinical dataset schema with one field of each kind the masking layer treats differently. */
export const SCHEMA: DatasetSchema = {
  patientIdField: 'mrn',
  siteField: 'site',
  fields: [
    { name: 'mrn', type: 'string', class: 'direct-identifier', identifier: 'medical-record-number', defaultTransform: 'pseudonymize' },
    { name: 'name', type: 'string', class: 'direct-identifier', identifier: 'name', defaultTransform: 'redact' },
    { name: 'dob', type: 'date', class: 'quasi-identifier', identifier: 'birth-date', generalization: 'birth-date', defaultTransform: 'generalize' },
    { name: 'zip', type: 'string', class: 'quasi-identifier', identifier: 'zip', generalization: 'zip', defaultTransform: 'generalize' },
    { name: 'age', type: 'integer', class: 'quasi-identifier', identifier: 'age', generalization: 'age', defaultTransform: 'generalize' },
    { name: 'admitted', type: 'date', class: 'quasi-identifier', identifier: 'date', generalization: 'date', defaultTransform: 'generalize' },
    { name: 'sex', type: 'category', class: 'quasi-identifier', identifier: 'demographic', defaultTransform: 'full' },
    { name: 'site', type: 'category', class: 'clinical' },
    { name: 'hba1c', type: 'number', class: 'clinical' },
    { name: 'hiv', type: 'string', class: 'sensitive-clinical' },
    { name: 'notes', type: 'string', class: 'sensitive-clinical', identifier: 'free-text', defaultTransform: 'redact' },
  ],
};

export type PatientRow = {
  mrn: string;
  name: string;
  dob: string;
  zip: string;
  age: string;
  admitted: string;
  sex: string;
  site: string;
  hba1c: string;
  hiv: string;
  notes: string;
};

/** A deterministic patient row; `i` makes every distinctive value unique. */
export function patient(i: number, overrides: Partial<PatientRow> = {}): PatientRow {
  return {
    mrn: `MRN-${1000 + i}`,
    name: `Name-${i} Surname`,
    dob: `19${50 + (i % 40)}-0${1 + (i % 9)}-1${i % 10}`,
    zip: `0${2100 + i}`.slice(0, 5),
    age: String(20 + (i % 60)),
    admitted: `2023-0${1 + (i % 9)}-2${i % 10}`,
    sex: i % 2 === 0 ? 'F' : 'M',
    site: 'site-a',
    hba1c: (5 + (i % 30) / 10).toFixed(1),
    hiv: i % 3 === 0 ? 'positive' : 'negative',
    notes: `note about patient ${i}`,
    ...overrides,
  };
}
