import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  classifyFieldName,
  defaultSitePolicy,
  inferSchema,
  maskRecords,
  parseDate,
  type Cell,
  type DatasetSchema,
  type MaskResult,
  type SitePolicy,
} from '../../src/masking/index.js';

/**
 * Safe Harbor (b)(2)(i)(C) by meaning: birth dates and ages are recognised whatever the column is
 * called (case, separators, prefixes and suffixes, languages) and in whatever date format, and no
 * output value reveals a birth year or an age of someone aged 90 or over.
 */
const key = randomBytes(32);
const NOW = new Date('2025-06-01T00:00:00Z');
/** Birth years up to this one imply an age of 90 or more at NOW (the masking run's date). */
const TOP = 1935;
const SAFE_HARBOR_ONLY: SitePolicy = { ...defaultSitePolicy('site-a'), suppressRareQuasiIdentifiers: false };

async function researcher(records: Record<string, string>[], policy: SitePolicy = SAFE_HARBOR_ONLY, schema?: DatasetSchema): Promise<MaskResult> {
  const inferred = schema ?? inferSchema(Object.keys(records[0] ?? {}), records, { now: NOW }).schema;
  return maskRecords(records, inferred, policy, { role: 'researcher', studyId: 'study-1', pseudonymKey: key, optOut: new Set(), now: NOW });
}

// ---- A generated corpus of column names ------------------------------------------------------

/** Words of a name; `glue`: still recognisable written without separators ("dateofbirth"). */
interface Base {
  readonly words: readonly string[];
  readonly glue: boolean;
}

const BIRTH_DATE_BASES: readonly Base[] = [
  { words: ['dob'], glue: false },
  { words: ['birth', 'date'], glue: true },
  { words: ['birthdate'], glue: true },
  { words: ['date', 'of', 'birth'], glue: true },
  { words: ['birth', 'dt'], glue: true },
  { words: ['birth', 'datetime'], glue: true },
  { words: ['birthday'], glue: true },
  { words: ['bene', 'birth', 'dt'], glue: true },
  { words: ['geburtsdatum'], glue: true },
  { words: ['geburts', 'datum'], glue: true },
  { words: ['geb', 'datum'], glue: false },
  { words: ['date', 'naissance'], glue: true },
  { words: ['date', 'de', 'naissance'], glue: true },
  { words: ['ddn'], glue: false },
  { words: ['fecha', 'nacimiento'], glue: true },
  { words: ['fecha', 'de', 'nacimiento'], glue: true },
  { words: ['fec', 'nac'], glue: false },
  { words: ['data', 'nascita'], glue: true },
  { words: ['data', 'di', 'nascita'], glue: true },
  { words: ['data', 'de', 'nascimento'], glue: true },
  { words: ['dt', 'nascimento'], glue: true },
  { words: ['geboortedatum'], glue: true },
  { words: ['födelsedatum'], glue: true },
  { words: ['fødselsdato'], glue: true },
  { words: ['data', 'urodzenia'], glue: true },
  { words: ['syntymäaika'], glue: true },
];

const BIRTH_YEAR_BASES: readonly Base[] = [
  { words: ['year', 'of', 'birth'], glue: true },
  { words: ['birth', 'year'], glue: true },
  { words: ['yob'], glue: false },
  { words: ['geburtsjahr'], glue: true },
  { words: ['année', 'naissance'], glue: true },
  { words: ['año', 'nacimiento'], glue: true },
  { words: ['anno', 'di', 'nascita'], glue: true },
  { words: ['anchor', 'year'], glue: false },
];

const AGE_BASES: readonly Base[] = [
  { words: ['age'], glue: false },
  { words: ['age', 'years'], glue: false },
  { words: ['age', 'at', 'admission'], glue: false },
  { words: ['anchor', 'age'], glue: false },
  { words: ['edad'], glue: false },
  { words: ['età'], glue: false },
  { words: ['idade'], glue: false },
  { words: ['alter'], glue: false },
  { words: ['leeftijd'], glue: false },
  { words: ['ålder'], glue: false },
];

const PREFIXES: readonly (readonly string[])[] = [[], ['pt'], ['patient'], ['person'], ['mother'], ['src', 'pt']];
const DATE_SUFFIXES: readonly (readonly string[])[] = [[], ['dt'], ['date'], ['datetime'], ['raw'], ['value'], ['iso']];
const PLAIN_SUFFIXES: readonly (readonly string[])[] = [[], ['raw'], ['value'], ['num']];

type Style = 'snake' | 'kebab' | 'space' | 'dot' | 'camel' | 'pascal' | 'upper' | 'glued';
const STYLES: readonly Style[] = ['snake', 'kebab', 'space', 'dot', 'camel', 'pascal', 'upper', 'glued'];

function cap(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function spell(words: readonly string[], style: Style): string {
  switch (style) {
    case 'snake':
      return words.join('_');
    case 'kebab':
      return words.join('-');
    case 'space':
      return words.join(' ');
    case 'dot':
      return words.join('.');
    case 'camel':
      return words.map((w, i) => (i === 0 ? w : cap(w))).join('');
    case 'pascal':
      return words.map(cap).join('');
    case 'upper':
      return words.join('_').toUpperCase();
    case 'glued':
      return words.join('');
  }
}

const nameArb = (bases: readonly Base[], suffixes: readonly (readonly string[])[]) =>
  fc.record({ base: fc.constantFrom(...bases), prefix: fc.constantFrom(...PREFIXES), suffix: fc.constantFrom(...suffixes), style: fc.constantFrom(...STYLES) }).map(({ base, prefix, suffix, style }) => {
    // Abbreviations are only recognisable as words of their own: those bases keep their separators.
    // Glued names keep their prefix and suffix apart ("pt_dateofbirth_raw").
    if (style === 'glued') return [...prefix, spell(base.words, base.glue ? 'glued' : 'snake'), ...suffix].join('_');
    return spell([...prefix, ...base.words, ...suffix], style);
  });

// ---- Dates in the formats clinical extracts use ----------------------------------------------

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const birthArb = fc.record({
  y: fc.integer({ min: 1900, max: 2024 }),
  m: fc.integer({ min: 1, max: 12 }),
  d: fc.integer({ min: 1, max: 28 }),
  hh: fc.integer({ min: 0, max: 23 }),
  mi: fc.integer({ min: 0, max: 59 }),
  ss: fc.integer({ min: 0, max: 59 }),
});
type Birth = { y: number; m: number; d: number; hh: number; mi: number; ss: number };
const FORMATS: readonly ((b: Birth) => string)[] = [
  (b) => `${b.y}-${pad(b.m)}-${pad(b.d)}`,
  (b) => `${b.y}-${pad(b.m)}-${pad(b.d)}T${pad(b.hh)}:${pad(b.mi)}:${pad(b.ss)}Z`,
  (b) => `${b.y}-${pad(b.m)}-${pad(b.d)} ${pad(b.hh)}:${pad(b.mi)}:${pad(b.ss)}.123+01:00`,
  (b) => `${b.m}/${b.d}/${b.y}`,
  (b) => `${pad(b.m)}/${pad(b.d)}/${b.y} ${pad(b.hh)}:${pad(b.mi)}`,
  (b) => `${b.m}/${b.d}/${b.y} ${(b.hh % 12) + 1}:${pad(b.mi)} ${b.hh < 12 ? 'AM' : 'PM'}`,
  (b) => `${pad(b.d)}.${pad(b.m)}.${b.y}`,
  (b) => `${b.d}.${b.m}.${b.y} ${pad(b.hh)}:${pad(b.mi)}:${pad(b.ss)}`,
  (b) => `${b.y}${pad(b.m)}${pad(b.d)}`,
  (b) => `${b.y}${pad(b.m)}${pad(b.d)}${pad(b.hh)}${pad(b.mi)}${pad(b.ss)}`,
  (b) => `${b.y}${pad(b.m)}${pad(b.d)}T${pad(b.hh)}${pad(b.mi)}${pad(b.ss)}`,
];

/** Whether a released birth cell could reveal the birth year of someone aged 90 or over. */
function revealsOldBirthYear(cell: Cell): boolean {
  if (cell === null || cell === '*') return false;
  const text = String(cell);
  const collapsed = /^<=(\d{4})$/.exec(text);
  if (collapsed) return Number(collapsed[1]) < TOP; // the collapsed category must take in every year up to TOP
  const range = /^(\d{4})-(\d{4})$/.exec(text);
  if (range) return Number(range[1]) <= TOP;
  return !/^\d{4}$/.test(text) || Number(text) <= TOP;
}

/** Whether a released age cell could reveal an age over 89. */
function revealsOldAge(cell: Cell): boolean {
  if (cell === null || cell === '*') return false;
  const text = String(cell);
  const top = /^(\d+)\+$/.exec(text);
  if (top) return Number(top[1]) > 90;
  const band = /^(\d+)-(\d+)$/.exec(text);
  if (band) return Number(band[2]) > 89;
  return !/^\d+$/.test(text) || Number(text) > 89;
}

describe('Safe Harbor by meaning: generated column names and date formats (property)', () => {
  it('a birth date under any generated name, in any format, is released as its year, or <=1935 when it implies 90 or older', async () => {
    await fc.assert(
      fc.asyncProperty(nameArb(BIRTH_DATE_BASES, DATE_SUFFIXES), birthArb, fc.constantFrom(...FORMATS), async (name, b, format) => {
        const result = await researcher([{ [name]: format(b) }]);
        expect({ name, cell: result.records[0]?.[name] }).toEqual({ name, cell: b.y <= TOP ? `<=${TOP}` : b.y });
        // The year itself appears nowhere (TOP is in the label of the collapsed category).
        if (b.y < TOP) expect(JSON.stringify(result)).not.toContain(String(b.y));
      }),
      { numRuns: 400 },
    );
  }, 120_000);

  it('a birth year under any generated name is released as itself, or <=1935 when it implies 90 or older', async () => {
    await fc.assert(
      fc.asyncProperty(nameArb(BIRTH_YEAR_BASES, PLAIN_SUFFIXES), fc.integer({ min: 1900, max: 2024 }), async (name, year) => {
        const result = await researcher([{ [name]: String(year) }]);
        expect({ name, cell: result.records[0]?.[name] }).toEqual({ name, cell: year <= TOP ? `<=${TOP}` : year });
      }),
      { numRuns: 200 },
    );
  }, 120_000);

  it('an age under any generated name is released as itself up to 89, and as 90+ from 90', async () => {
    await fc.assert(
      fc.asyncProperty(nameArb(AGE_BASES, PLAIN_SUFFIXES), fc.integer({ min: 0, max: 120 }), async (name, age) => {
        const result = await researcher([{ [name]: String(age) }]);
        expect({ name, cell: result.records[0]?.[name] }).toEqual({ name, cell: age >= 90 ? '90+' : age });
      }),
      { numRuns: 200 },
    );
  }, 120_000);

  it('with k-anonymity on, no released value reveals a birth year or an age of someone over 89', async () => {
    const rowArb = fc.record({ birth: birthArb, format: fc.constantFrom(...FORMATS), age: fc.integer({ min: 0, max: 110 }), sex: fc.constantFrom('F', 'M') });
    await fc.assert(
      fc.asyncProperty(
        nameArb(BIRTH_DATE_BASES, DATE_SUFFIXES),
        nameArb(AGE_BASES, PLAIN_SUFFIXES),
        fc.array(rowArb, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 2, max: 11 }),
        async (birthName, ageName, rows, k) => {
          fc.pre(birthName !== ageName);
          const records = rows.map((r) => ({ [birthName]: r.format(r.birth), [ageName]: String(r.age), sex: r.sex }));
          const result = await researcher(records, { ...defaultSitePolicy('site-a'), minCellSize: k });
          for (const r of result.records) {
            expect({ birthName, cell: r[birthName] ?? null, reveals: revealsOldBirthYear(r[birthName] ?? null) }).toMatchObject({ reveals: false });
            expect({ ageName, cell: r[ageName] ?? null, reveals: revealsOldAge(r[ageName] ?? null) }).toMatchObject({ reveals: false });
          }
        },
      ),
      { numRuns: 100 },
    );
  }, 240_000);
});

describe('Safe Harbor by meaning: real-world field names', () => {
  it.each([
    // CMS (Medicare claims, synthetic public use files)
    ['BENE_BIRTH_DT', 'birth-date'],
    ['BENE_DEATH_DT', 'date'],
    ['CLM_FROM_DT', 'date'],
    ['CLM_THRU_DT', 'date'],
    // OMOP CDM
    ['birth_datetime', 'birth-date'],
    ['year_of_birth', 'birth-year'],
    ['month_of_birth', 'birth-date-part'],
    ['day_of_birth', 'birth-date-part'],
    ['visit_start_date', 'date'],
    ['death_datetime', 'date'],
    // FHIR
    ['Patient.birthDate', 'birth-date'],
    ['birthDate', 'birth-date'],
    ['deceasedDateTime', 'date'],
    // MIMIC-IV
    ['anchor_age', 'age'],
    ['anchor_year', 'birth-year'],
    ['dod', 'date'],
    ['admittime', 'date'],
    ['dischtime', 'date'],
    ['deathtime', 'date'],
    // Other languages
    ['Geburtsdatum', 'birth-date'],
    ['date_naissance', 'birth-date'],
    ['fecha_nacimiento', 'birth-date'],
    ['data_nascita', 'birth-date'],
    ['Aufnahmedatum', 'date'],
    ['edad', 'age'],
  ])('%s is classified %s', (name, identifier) => {
    expect(classifyFieldName(name)?.identifier).toBe(identifier);
  });

  it.each(['birth_weight', 'birth_place', 'birth_order', 'births', 'multipleBirthBoolean', 'dosage', 'stage', 'anchorage'])(
    '%s is not a date or an age',
    (name) => {
      expect(['birth-date', 'birth-year', 'birth-date-part', 'age', 'date']).not.toContain(classifyFieldName(name)?.identifier);
    },
  );

  it('a month or day of birth alone is removed for researchers (Safe Harbor keeps only the year)', async () => {
    const result = await researcher([{ month_of_birth: '3', day_of_birth: '4', year_of_birth: '1920' }]);
    expect(result.columns.map((c) => c.name)).toEqual(['year_of_birth']);
    expect(result.records[0]).toEqual({ year_of_birth: `<=${TOP}` });
  });

  it('every other date keeps its year only, and is not top-coded', async () => {
    const result = await researcher([{ BENE_DEATH_DT: '19200304', admittime: '1921-02-03 10:22:00', CLM_FROM_DT: '03/04/2019' }]);
    expect(result.records[0]).toEqual({ BENE_DEATH_DT: 1920, admittime: 1921, CLM_FROM_DT: 2019 });
  });
});

describe('Safe Harbor by meaning: birth dates recognised by their values', () => {
  const births = (n: number) => Array.from({ length: n }, (_, i) => `${1920 + ((i * 7) % 90)}-${pad(1 + (i % 12))}-${pad(1 + (i % 28))}`);

  it('a column named only "birth" (or "pt_birth") holding dates is a birth date; holding years, a birth year; holding weights, neither', async () => {
    const result = await researcher([
      { pt_birth: '1920-03-04', birth: '1920', birth_weight: '3.4' },
      { pt_birth: '1980-01-01', birth: '1980', birth_weight: '2.9' },
    ]);
    expect(result.records.map((r) => [r['pt_birth'], r['birth'], r['birth_weight']])).toEqual([
      [`<=${TOP}`, `<=${TOP}`, '3.4'],
      [1980, 1980, '2.9'],
    ]);
  });

  it('stays an ordinary date when in doubt: too few values, dates after the run, or dates clustered in a few years', async () => {
    const cases: Record<string, string[]> = {
      fewValues: births(19),
      future: [...births(40), '2025-06-02'],
      clustered: Array.from({ length: 60 }, (_, i) => `${2019 + (i % 6)}-${pad(1 + (i % 12))}-${pad(1 + (i % 28))}`),
    };
    for (const [label, values] of Object.entries(cases)) {
      const records = values.map((v) => ({ c7: v }));
      const { schema } = inferSchema(['c7'], records, { now: NOW });
      expect({ label, generalization: schema.fields[0]?.generalization }).toEqual({ label, generalization: 'date' });
    }
    const undated = inferSchema(['c7'], births(40).map((v) => ({ c7: v })), { now: NOW }).schema;
    expect(undated.fields[0]).toMatchObject({ identifier: 'birth-date', generalization: 'birth-date' });
  });

  it("a steward's schema that declares a birth date as an ordinary date is still top-coded, by name and by values", async () => {
    const schema: DatasetSchema = {
      fields: [
        { name: 'BENE_BIRTH_DT', type: 'date', class: 'quasi-identifier', generalization: 'date', defaultTransform: 'generalize' },
        { name: 'c7', type: 'date', class: 'quasi-identifier', generalization: 'date', defaultTransform: 'generalize' },
        { name: 'edad', type: 'integer', class: 'quasi-identifier', generalization: 'numeric', defaultTransform: 'generalize' },
      ],
    };
    const values = births(40);
    const records = values.map((v, i) => ({ BENE_BIRTH_DT: v, c7: v, edad: String(60 + (i % 40)) }));
    const result = await researcher(records, SAFE_HARBOR_ONLY, schema);
    expect(result.records[0]).toEqual({ BENE_BIRTH_DT: `<=${TOP}`, c7: `<=${TOP}`, edad: 60 });
    expect(result.records.map((r) => r['edad'])).toContain('90+');
    expect(result.notes).toContain('field "BENE_BIRTH_DT" holds birth dates (by its name): generalised as birth-date, 90 and older collapsed');
    expect(result.notes).toContain('field "c7" holds birth dates (by its values): generalised as birth-date, 90 and older collapsed');
  });

  it("a field the steward classes as clinical is the steward's call and stays as declared", async () => {
    const schema: DatasetSchema = { fields: [{ name: 'age', type: 'number', class: 'clinical' }] };
    const result = await researcher([{ age: '95' }], SAFE_HARBOR_ONLY, schema);
    expect(result.records[0]).toEqual({ age: '95' });
  });
});

describe('dates with times', () => {
  it.each([
    ['2021-03-04T10:22:01Z', { year: 2021, month: 3, day: 4 }],
    ['2021-03-04 10:22', { year: 2021, month: 3, day: 4 }],
    ['03/04/2021 10:22 PM', { year: 2021, month: 3, day: 4 }],
    ['25/03/2021', { year: 2021, month: 3, day: 25 }],
    ['04.03.2021 10:22:01', { year: 2021, month: 3, day: 4 }],
    ['20210304', { year: 2021, month: 3, day: 4 }],
    ['20210304102201', { year: 2021, month: 3, day: 4 }],
    ['20210304T102201', { year: 2021, month: 3, day: 4 }],
    ['04MAR2021', { year: 2021, month: 3, day: 4 }],
    ['04-Mar-2021', { year: 2021, month: 3, day: 4 }],
    ['04MAR2021:10:22:01', { year: 2021, month: 3, day: 4 }],
  ])('%s is %j', (text, parts) => {
    expect(parseDate(text)).toEqual(parts);
  });
});
