import { meaningOfName, type NameMeaning } from './field-meaning.js';
import type { FieldType, Generalization, SensitivityClass, TransformName } from './schema.js';

/**
 * HIPAA Safe Harbor (45 CFR 164.514(b)(2)(i)) as a data table: recognisable field names -> the
 * identifier type, its sensitivity class and the default transform researchers get. The site
 * steward overrides any of it in the site policy. Names are matched after normalisation to
 * snake_case ASCII ("PatientDOB" -> "patient_dob", "Födelsedatum" -> "fodelsedatum"); patterns are
 * anchored on whole words; the first matching rule wins, so specific rules come before general ones.
 * Dates and ages (C) are recognised by meaning, in several spellings and languages (field-meaning.ts).
 */
export interface IdentifierRule {
  /** Safe Harbor letter (A..R) or '-' for rows that are not one of the 18 (kept for classification). */
  readonly letter: string;
  readonly identifier: string;
  /** Tests a normalised field name. */
  readonly pattern: NameMatcher;
  readonly class: SensitivityClass;
  readonly type: FieldType;
  readonly defaultTransform: TransformName;
  readonly generalization?: Generalization;
}

/** A regular expression, or anything else that tests a normalised name. */
export interface NameMatcher {
  test(normalised: string): boolean;
}

/** Whole-word alternatives: matches when one of `words` is a complete run of `_`-separated words. */
function words(...alternatives: string[]): RegExp {
  return new RegExp(`(^|_)(${alternatives.join('|')})(_|$)`);
}

/** Names whose meaning (field-meaning.ts) is one of `meanings`. */
function meaning(...meanings: NameMeaning[]): NameMatcher {
  return { test: (normalised) => meanings.includes(meaningOfName(normalised) as NameMeaning) };
}

/** Names of unique ids that are not a person's (sites, studies, wards...). */
const NON_PERSON_ID = /(^|_)(site|study|trial|protocol|ward|unit|department|dept|hospital|facility|clinic|center|centre|org|organisation|organization|cohort|arm|batch|dataset|job|model|round)_(id|uuid|guid|code|number|no)$/;

export const SAFE_HARBOR_RULES: readonly IdentifierRule[] = [
  // Not one of the 18: geography at state level and above may be kept (B allows states).
  { letter: '-', identifier: 'state', pattern: /^(patient_)?(state|state_code|province|country|country_code)$/, class: 'quasi-identifier', type: 'category', defaultTransform: 'full' },
  // (C) Dates directly related to an individual, and ages over 89: birth dates and years are
  // top-coded (90 or older collapse into one category), a month or day of birth alone is removed.
  { letter: 'C', identifier: 'birth-date', pattern: meaning('birth-date'), class: 'quasi-identifier', type: 'date', defaultTransform: 'generalize', generalization: 'birth-date' },
  { letter: 'C', identifier: 'birth-year', pattern: meaning('birth-year'), class: 'quasi-identifier', type: 'integer', defaultTransform: 'generalize', generalization: 'birth-year' },
  { letter: 'C', identifier: 'birth-date-part', pattern: meaning('birth-date-part'), class: 'quasi-identifier', type: 'integer', defaultTransform: 'redact' },
  { letter: 'C', identifier: 'age', pattern: meaning('age'), class: 'quasi-identifier', type: 'integer', defaultTransform: 'generalize', generalization: 'age' },
  { letter: 'C', identifier: 'date', pattern: meaning('date'), class: 'quasi-identifier', type: 'date', defaultTransform: 'generalize', generalization: 'date' },
  // (G) Social security numbers (and other national ids).
  { letter: 'G', identifier: 'ssn', pattern: words('ssn', 'social_security(_number|_no|_num)?', 'sin', 'national_id', 'national_insurance(_number|_no)?', 'nin', 'nhs_(number|no)', 'bsn', 'tax_id', 'personnummer', 'nir'), class: 'direct-identifier', type: 'string', defaultTransform: 'redact' },
  // (H) Medical record numbers.
  { letter: 'H', identifier: 'medical-record-number', pattern: words('mrn', 'medical_record(_number|_no|_num|_id)?', 'record_(number|no|id)', 'chart_(number|no|id)', 'patient_(id|number|no|identifier|key)', 'patientid', 'pid', 'hospital_(number|no)', 'case_(number|no)'), class: 'direct-identifier', type: 'string', defaultTransform: 'pseudonymize' },
  // (I) Health plan beneficiary numbers.
  { letter: 'I', identifier: 'health-plan-beneficiary-number', pattern: words('health_plan(_[a-z]+)?', 'insurance(_[a-z]+)?', 'insurer(_[a-z]+)?', 'beneficiary(_[a-z]+)?', 'member_(id|number|no)', 'subscriber(_[a-z]+)?', 'policy_(number|no)', 'medicaid(_[a-z]+)?', 'medicare(_[a-z]+)?'), class: 'direct-identifier', type: 'string', defaultTransform: 'redact' },
  // (J) Account numbers.
  { letter: 'J', identifier: 'account-number', pattern: words('account(_[a-z]+)?', 'acct(_[a-z]+)?', 'iban', 'bank_account', 'credit_card(_[a-z]+)?', 'card_(number|no)', 'billing_(number|no|id)'), class: 'direct-identifier', type: 'string', defaultTransform: 'redact' },
  // (L) Vehicle identifiers and serial numbers, including licence plates (before K: "license_plate").
  { letter: 'L', identifier: 'vehicle-identifier', pattern: words('vehicle(_[a-z]+)?', 'vin', 'licen[cs]e_plate', 'plate_(number|no)', 'number_plate', 'registration_plate'), class: 'direct-identifier', type: 'string', defaultTransform: 'redact' },
  // (K) Certificate/licence numbers.
  { letter: 'K', identifier: 'certificate-license-number', pattern: words('licen[cs]e(_[a-z]+)?', 'certificate(_[a-z]+)?', 'cert_(number|no)', 'passport(_[a-z]+)?', 'drivers?_licen[cs]e', 'dea_(number|no)'), class: 'direct-identifier', type: 'string', defaultTransform: 'redact' },
  // (M) Device identifiers and serial numbers.
  { letter: 'M', identifier: 'device-identifier', pattern: words('device_(id|serial|number|no|identifier)', 'serial(_number|_no|_num)?', 'udi', 'imei', 'implant_(id|serial|number)', 'pacemaker_(id|serial)'), class: 'direct-identifier', type: 'string', defaultTransform: 'redact' },
  // (N) Web URLs.
  { letter: 'N', identifier: 'url', pattern: words('url', 'uri', 'website', 'web_?page', 'homepage', 'web_address', 'link'), class: 'direct-identifier', type: 'string', defaultTransform: 'redact' },
  // (O) IP addresses.
  { letter: 'O', identifier: 'ip-address', pattern: words('ip', 'ip_?address', 'ip_addr', 'ipv4', 'ipv6', 'client_ip', 'remote_addr', 'mac_address'), class: 'direct-identifier', type: 'string', defaultTransform: 'redact' },
  // (P) Biometric identifiers, including finger and voice prints.
  { letter: 'P', identifier: 'biometric', pattern: words('biometric(_[a-z]+)?', 'finger_?print(_[a-z]+)?', 'voice_?print(_[a-z]+)?', 'retina(_scan)?', 'iris(_scan|_template)?', 'face_template', 'palm_?print', 'gait_signature'), class: 'direct-identifier', type: 'string', defaultTransform: 'redact' },
  // (Q) Full-face photographs and comparable images.
  { letter: 'Q', identifier: 'photo', pattern: words('photo(graph)?(_[a-z]+)?', 'picture', 'portrait', 'face(_image|_photo)?', 'headshot', 'selfie', 'mugshot', 'image(_[a-z]+)?'), class: 'direct-identifier', type: 'string', defaultTransform: 'redact' },
  // (E) Fax numbers (before D: "fax_phone").
  { letter: 'E', identifier: 'fax', pattern: words('fax(_[a-z]+)?', 'facsimile'), class: 'direct-identifier', type: 'string', defaultTransform: 'redact' },
  // (D) Telephone numbers.
  { letter: 'D', identifier: 'telephone', pattern: words('phone(_[a-z]+)?', 'telephone(_[a-z]+)?', 'tel', 'mobile(_[a-z]+)?', 'cell_?phone', 'cell_(number|no)', 'pager', 'landline'), class: 'direct-identifier', type: 'string', defaultTransform: 'redact' },
  // (F) Email addresses.
  { letter: 'F', identifier: 'email', pattern: words('e_?mail(_[a-z]+)?', 'mail_address'), class: 'direct-identifier', type: 'string', defaultTransform: 'redact' },
  // (B) ZIP codes: only the first three digits may stay (000 for low-population areas).
  { letter: 'B', identifier: 'zip', pattern: words('zip', 'zip_?code', 'zip5', 'postal_?code', 'post_?code'), class: 'quasi-identifier', type: 'string', defaultTransform: 'generalize', generalization: 'zip' },
  // (B) Street addresses: direct identifiers.
  { letter: 'B', identifier: 'street-address', pattern: words('address(_line)?(_?[0-9])?', 'addr', 'street(_[a-z]+)?', 'house_(number|no)', 'apartment', 'residence'), class: 'direct-identifier', type: 'string', defaultTransform: 'redact' },
  // (B) Other geographic subdivisions smaller than a state, and geocodes.
  { letter: 'B', identifier: 'geography', pattern: words('city', 'town', 'county', 'precinct', 'district', 'municipality', 'borough', 'neighbou?rhood', 'village', 'suburb', 'census_(tract|block)', 'tract', 'block_group', 'geocode', 'geo_?hash', 'lat', 'latitude', 'lon', 'lng', 'longitude', 'coordinates?', 'gps'), class: 'quasi-identifier', type: 'string', defaultTransform: 'redact' },
  // (A) Names (of the patient, relatives, employers, household members).
  { letter: 'A', identifier: 'name', pattern: /^(name|names|surname|forename|initials|firstname|lastname|fullname|middlename|givenname|familyname|maidenname|employer(_name)?)$|(^|_)(first|last|middle|given|family|full|maiden|patient|mother|mothers|father|fathers|parent|guardian|spouse|partner|relative|kin|contact|emergency_contact|employer|household|sur)_?(name|names|initials)$/, class: 'direct-identifier', type: 'string', defaultTransform: 'redact' },
  // Not one of the 18, but kept closed: free text can carry any identifier.
  { letter: '-', identifier: 'free-text', pattern: words('notes?', 'comments?', 'free_?text', 'narrative', 'remarks?', 'description', 'memo', 'transcript', 'report_text'), class: 'sensitive-clinical', type: 'string', defaultTransform: 'redact' },
  // Not one of the 18: specially protected clinical categories.
  { letter: '-', identifier: 'sensitive-condition', pattern: words('hiv(_[a-z]+)?', 'aids', 'psychiatric(_[a-z]+)?', 'mental_health(_[a-z]+)?', 'substance_(use|abuse)(_[a-z]+)?', 'alcohol_(use|abuse)', 'drug_(use|abuse)', 'sexual_(orientation|history)', 'std', 'sti', 'abortion(_[a-z]+)?', 'genetic(_[a-z]+)?', 'genotype'), class: 'sensitive-clinical', type: 'string', defaultTransform: 'redact' },
  // Not one of the 18: demographics Safe Harbor lets through exactly, still quasi-identifiers.
  { letter: '-', identifier: 'demographic', pattern: words('sex', 'gender', 'race', 'ethnicity', 'ethnic_group', 'marital_status'), class: 'quasi-identifier', type: 'category', defaultTransform: 'full' },
  // (R) Any other unique identifying number, characteristic or code.
  { letter: 'R', identifier: 'other-unique-identifier', pattern: /(^|_)(id|uuid|guid|identifier|username|user_name|login|user_id|handle)$/, class: 'direct-identifier', type: 'string', defaultTransform: 'pseudonymize' },
];

/** "PatientDOB" / "Patient DOB" / "patient-dob" -> "patient_dob"; "Geburtsdatum" / "Födelsedatum" lose case and accents. */
export function normaliseFieldName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/ß/g, 'ss')
    .replace(/æ/g, 'ae')
    .replace(/Æ/g, 'AE')
    .replace(/ø/g, 'o')
    .replace(/Ø/g, 'O')
    .replace(/œ/g, 'oe')
    .replace(/Œ/g, 'OE')
    .replace(/ł/g, 'l')
    .replace(/Ł/g, 'L')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** The Safe Harbor rule a field name falls under, if any. */
export function classifyFieldName(name: string): IdentifierRule | undefined {
  const normalised = normaliseFieldName(name);
  if (NON_PERSON_ID.test(normalised)) return undefined;
  return SAFE_HARBOR_RULES.find((rule) => rule.pattern.test(normalised));
}
