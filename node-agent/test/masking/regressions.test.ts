import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { classifyFieldName, defaultSitePolicy, inferSchema, maskRecords, readCsv, type MaskResult, type SitePolicy } from '../../src/masking/index.js';
import { cohortCsv, syntheticCohort } from './support/cohort.js';

/**
 * The two defects of the penetration test (issue #16, items 2 and 10), reproduced as they were
 * reported: birth years of patients over 89 released from birth-date columns not named exactly
 * `dob`/`birth_date`, and a researcher view of a 330-row file that lost age and sex on every row
 * while its summary claimed `sex: full`, `age: generalize`.
 */
const key = randomBytes(32);
const NOW = new Date('2025-06-01T00:00:00Z');
/** Safe Harbor alone, so that no k-anonymity step hides what the rule itself releases. */
const SAFE_HARBOR_ONLY: SitePolicy = { ...defaultSitePolicy('site-a'), suppressRareQuasiIdentifiers: false };

async function researcher(records: Record<string, string>[], policy: SitePolicy = SAFE_HARBOR_ONLY): Promise<MaskResult> {
  const columns = Object.keys(records[0] ?? {});
  const { schema } = inferSchema(columns, records, { now: NOW });
  return maskRecords(records, schema, policy, { role: 'researcher', studyId: 'study-1', pseudonymKey: key, optOut: new Set(), now: NOW });
}

/** Birth dates from 1920 to 2009, one per row, with 1920-03-04 first. */
function birthDates(n: number): string[] {
  return Array.from({ length: n }, (_, i) => (i === 0 ? '1920-03-04' : `${1920 + ((i * 7) % 90)}-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`));
}

describe('pen test: birth years of patients aged 90+ (Safe Harbor (b)(2)(i)(C))', () => {
  it('BENE_BIRTH_DT 1920-03-04 is not released as 1920', async () => {
    const result = await researcher([{ BENE_BIRTH_DT: '1920-03-04' }, { BENE_BIRTH_DT: '1980-07-01' }]);
    expect(result.records.map((r) => r['BENE_BIRTH_DT'])).toEqual(['<=1935', 1980]);
    expect(JSON.stringify(result)).not.toContain('1920');
  });

  it('birth_dt is recognised as a birth date, and its 1920 is top-coded', async () => {
    expect(classifyFieldName('birth_dt')?.identifier).toBe('birth-date');
    const result = await researcher([{ birth_dt: '03/04/1920' }]);
    expect(result.records[0]?.['birth_dt']).toBe('<=1935');
  });

  it('a column of birth dates with no name hint is recognised from its values', async () => {
    const records = birthDates(60).map((d, i) => ({ c7: d, ward: i % 2 === 0 ? 'A' : 'B' }));
    const result = await researcher(records);
    expect(result.records[0]?.['c7']).toBe('<=1935');
    expect(result.records.map((r) => r['c7'])).not.toContain(1920);
  });
});

describe('pen test: the researcher view of a 330-row file', () => {
  const rows = syntheticCohort(330);
  const table = readCsv(cohortCsv(rows));
  // The diagnosis is clinical at this site (a steward's reclassification, as in docs/privacy.md).
  const policy: SitePolicy = { ...defaultSitePolicy('site-a'), fieldClasses: { diagnosis: 'clinical' } };

  it('keeps sex on almost every row, generalises age into bands, and its summary matches the content', async () => {
    const result = await researcher(table.records, policy);
    expect(result.records).toHaveLength(330);
    const kept = result.records.filter((r, i) => r['sex'] === rows[i]!.sex);
    expect(kept.length).toBeGreaterThanOrEqual(Math.ceil(330 * 0.95));

    const ages = result.records.map((r) => r['age']).filter((a) => a !== '*');
    expect(ages.length).toBeGreaterThanOrEqual(Math.ceil(330 * 0.95));
    // Bands, with one top band that takes in everyone over 89 (90+, or a wider 80+).
    for (const a of ages) expect(String(a)).toMatch(/^(\d+-\d+|90\+|80\+)$/);

    const summary = result.summary as unknown as { fields?: Record<string, string>; suppressedRows: number };
    expect(summary.fields?.['sex']).toBe('full');
    const band = /^(\d+)-year bands(?: \((\d+)\+\))?$/.exec(summary.fields?.['age'] ?? '');
    expect(band).not.toBeNull();
    const width = Number(band?.[1]);
    const top = Number(band?.[2] ?? 90);
    for (const a of ages) {
      const m = /^(\d+)-(\d+)$/.exec(String(a));
      if (m === null) {
        expect(a).toBe(`${top}+`);
        continue;
      }
      // Bands are aligned on their width; the last one below the top band may be cut short.
      expect(Number(m[1]) % width).toBe(0);
      expect(Number(m[2])).toBe(Math.min(Number(m[1]) + width, top) - 1);
    }
    for (const [i, r] of result.records.entries()) {
      if (r['zip'] === '*') continue;
      if (summary.fields?.['zip'] === 'ZIP3') expect(r['zip']).toBe(rows[i]!.zip.startsWith('036') ? '000' : rows[i]!.zip.slice(0, 3));
      if (summary.fields?.['zip'] === 'state') expect(r['zip']).toBe(rows[i]!.zip.startsWith('036') ? 'NH' : 'MA');
    }
    const suppressed = result.records.filter((r) => r['sex'] === '*').length;
    expect(summary.suppressedRows).toBe(suppressed);
    expect(result.notes).toContain(`rows suppressed: ${suppressed} of 330`);
    expect(result.notes).not.toContain('field "age": generalize');
  });
});
