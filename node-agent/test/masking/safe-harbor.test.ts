import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  birthYear,
  classifyFieldName,
  dateToYear,
  defaultSitePolicy,
  inferSchema,
  maskRecords,
  RESTRICTED_ZIP3,
  RESTRICTED_ZIP3_2000,
  RESTRICTED_ZIP3_2010,
  safeHarborAge,
  ageBand,
  zip3,
  type SitePolicy,
} from '../../src/masking/index.js';

/**
 * One test per HIPAA Safe Harbor identifier type (45 CFR 164.514(b)(2)(i)(A)-(R)): the field name is
 * recognised, classified, and what a researcher gets by default never contains the raw value.
 */
const policy: SitePolicy = { ...defaultSitePolicy('site-a'), suppressRareQuasiIdentifiers: false };
const key = randomBytes(32);

async function researcherView(column: string, value: string) {
  const records = [{ [column]: value }];
  const { schema } = inferSchema([column], records);
  const result = await maskRecords(records, schema, policy, { role: 'researcher', studyId: 'study-1', pseudonymKey: key, optOut: new Set(), now: new Date('2025-06-01T00:00:00Z') });
  return { result, cell: result.records[0]?.[column], text: JSON.stringify(result) };
}

const IDENTIFIER_TYPES = [
  { letter: 'A', type: 'names', column: 'patient_name', value: 'Ada Lovelace', shown: 'redacted' },
  { letter: 'B', type: 'geographic subdivisions: street address', column: 'street_address', value: '12 Baker Street', shown: 'redacted' },
  { letter: 'B', type: 'geographic subdivisions: city', column: 'city', value: 'Cambridge', shown: 'redacted' },
  { letter: 'B', type: 'geographic subdivisions: ZIP code', column: 'zip_code', value: '02139', shown: '021' },
  { letter: 'C', type: 'dates related to the individual', column: 'admission_date', value: '2023-05-06', shown: 2023 },
  { letter: 'C', type: 'birth date', column: 'date_of_birth', value: '1970-12-01', shown: 1970 },
  { letter: 'C', type: 'ages over 89', column: 'age', value: '97', shown: '90+' },
  { letter: 'D', type: 'telephone numbers', column: 'phone_number', value: '+1 617 555 0100', shown: 'redacted' },
  { letter: 'E', type: 'fax numbers', column: 'fax', value: '+1 617 555 0199', shown: 'redacted' },
  { letter: 'F', type: 'email addresses', column: 'email', value: 'ada@example.org', shown: 'redacted' },
  { letter: 'G', type: 'social security numbers', column: 'SSN', value: '123-45-6789', shown: 'redacted' },
  { letter: 'H', type: 'medical record numbers', column: 'MRN', value: 'MRN-000123', shown: 'pseudonym' },
  { letter: 'I', type: 'health plan beneficiary numbers', column: 'insurance_member_id', value: 'HP-99-1234', shown: 'redacted' },
  { letter: 'J', type: 'account numbers', column: 'account_number', value: 'ACC-556677', shown: 'redacted' },
  { letter: 'K', type: 'certificate/license numbers', column: 'license_number', value: 'LIC-0042', shown: 'redacted' },
  { letter: 'L', type: 'vehicle identifiers and licence plates', column: 'license_plate', value: 'ABC-1234', shown: 'redacted' },
  { letter: 'M', type: 'device identifiers and serial numbers', column: 'device_serial', value: 'PM-SN-778899', shown: 'redacted' },
  { letter: 'N', type: 'web URLs', column: 'website', value: 'https://ada.example.org/me', shown: 'redacted' },
  { letter: 'O', type: 'IP addresses', column: 'ip_address', value: '192.0.2.44', shown: 'redacted' },
  { letter: 'P', type: 'biometric identifiers', column: 'fingerprint', value: 'FP-TEMPLATE-77', shown: 'redacted' },
  { letter: 'Q', type: 'full-face photographs', column: 'photo', value: 'photos/ada-face.jpg', shown: 'redacted' },
  { letter: 'R', type: 'other unique identifying numbers or codes', column: 'encounter_id', value: 'ENC-31337', shown: 'pseudonym' },
] as const;

describe('Safe Harbor: one test per identifier type', () => {
  it.each(IDENTIFIER_TYPES)('($letter) $type: "$column" is recognised and never reaches a researcher', async ({ letter, column, value, shown }) => {
    expect(classifyFieldName(column)?.letter).toBe(letter);
    const { result, cell, text } = await researcherView(column, value);
    expect(text).not.toContain(value);
    if (shown === 'redacted') {
      expect(result.columns.map((c) => c.name)).not.toContain(column);
      expect(result.notes).toContain(`field "${column}" is redacted and left out`);
    } else if (shown === 'pseudonym') {
      expect(cell).toMatch(/^ps_[0-9a-f]{32}$/);
    } else {
      expect(cell).toBe(shown);
    }
  });

  it('covers all 18 letters', () => {
    expect(new Set(IDENTIFIER_TYPES.map((t) => t.letter)).size).toBe(18);
  });
});

describe('Safe Harbor edge cases', () => {
  it('ages: 89 stays 89, 90 and 120 become 90+', () => {
    expect(safeHarborAge('89')).toBe(89);
    expect(safeHarborAge(89)).toBe(89);
    expect(safeHarborAge('90')).toBe('90+');
    expect(safeHarborAge('120')).toBe('90+');
    expect(safeHarborAge('0')).toBe(0);
    expect(safeHarborAge('not an age')).toBeUndefined();
  });

  it('ZIP: 03601 becomes 000, 02139 becomes 021, and every low-population prefix of the 2010 and 2000 censuses becomes 000', () => {
    expect(zip3('03601')).toBe('000');
    expect(zip3('02139')).toBe('021');
    expect(zip3('02139-4307')).toBe('021');
    expect(zip3(2139)).toBe('021');
    const census2010 = ['036', '059', '102', '202', '203', '204', '205', '369', '556', '692', '753', '772', '821', '823', '878', '879', '884', '893'];
    const census2000 = ['036', '059', '063', '102', '203', '556', '692', '790', '821', '823', '830', '831', '878', '879', '884', '890', '893'];
    expect([...RESTRICTED_ZIP3_2010].sort()).toEqual(census2010);
    expect([...RESTRICTED_ZIP3_2000].sort()).toEqual(census2000);
    expect(RESTRICTED_ZIP3.size).toBe(new Set([...census2010, ...census2000]).size);
    for (const prefix of [...census2010, ...census2000]) expect(zip3(`${prefix}42`)).toBe('000');
    expect(zip3('ABCDE')).toBeUndefined();
    expect(zip3('123')).toBeUndefined();
  });

  it.each([
    ['2021-03-04', 2021],
    ['2021-03-04T10:22:01Z', 2021],
    ['2021-03-04 10:22:01.123+01:00', 2021],
    ['20210304', 2021],
    ['2021/3/4', 2021],
    ['2021-03', 2021],
    ['04/03/2021', 2021],
    ['4.3.2021', 2021],
    ['31-12-1999', 1999],
    ['4 Mar 2021', 2021],
    ['March 4, 2021', 2021],
    ['1999', 1999],
  ])('every date becomes its year: %s -> %i', (date, year) => {
    expect(dateToYear(date)).toBe(year);
  });

  it('unparseable dates are withheld, never passed through', () => {
    for (const bad of ['yesterday', '2021-13-01', '99/99/2021', '13/13/2021', '', 'Ada 2021']) expect(dateToYear(bad)).toBeUndefined();
  });

  it('a birth year implying 90 or older collapses into one category', () => {
    expect(birthYear('1931-03-04', 2025)).toBe('<=1935');
    expect(birthYear('1936-01-01', 2025)).toBe(1936);
    expect(birthYear('1935', 2025, true)).toBe('<=1935');
  });

  it('researcher age bands never reach past 90', () => {
    const bands = [0, 18, 40, 65, 95];
    expect(ageBand('17', bands)).toBe('0-17');
    expect(ageBand('40', bands)).toBe('40-64');
    expect(ageBand('89', bands)).toBe('65-89');
    expect(ageBand('93', bands)).toBe('90+');
  });
});
