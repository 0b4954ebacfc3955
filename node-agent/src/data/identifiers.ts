/**
 * Column names that directly identify a person. Such columns, names ending in `_id` and string
 * columns with a distinct value on every row are identifiers: their values are dropped at load
 * time, so they cannot reach features, statistics, errors or logs.
 */
const DIRECT_IDENTIFIER_NAMES: ReadonlySet<string> = new Set([
  'id', 'mrn', 'medical_record_number', 'record_number', 'ssn', 'social_security_number', 'nhs_number',
  'national_id', 'insurance_number', 'passport', 'passport_number', 'name', 'first_name', 'last_name',
  'full_name', 'given_name', 'family_name', 'surname', 'patient_name', 'email', 'email_address', 'phone',
  'phone_number', 'telephone', 'mobile', 'fax', 'address', 'street', 'street_address', 'city', 'zip',
  'zip_code', 'zipcode', 'postcode', 'postal_code', 'dob', 'date_of_birth', 'birth_date', 'birthdate',
  'ip_address', 'device_serial', 'url',
]);

const IDENTIFIER_SUFFIXES = ['_id', '_mrn', '_ssn', '_email', '_phone'] as const;

/** `patientId`, `Patient ID` and `patient-id` all become `patient_id`. */
export function normalizeColumnName(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** Exact direct identifiers: a schema may not declare these as a feature or the label. */
export function isDirectIdentifierName(name: string): boolean {
  return DIRECT_IDENTIFIER_NAMES.has(normalizeColumnName(name));
}

export function isIdentifierName(name: string): boolean {
  const normalized = normalizeColumnName(name);
  return DIRECT_IDENTIFIER_NAMES.has(normalized) || IDENTIFIER_SUFFIXES.some((suffix) => normalized.endsWith(suffix));
}
