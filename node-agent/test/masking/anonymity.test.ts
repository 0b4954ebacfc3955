import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { buildHierarchy } from '../../src/masking/anonymity/hierarchy.js';
import { hierarchyOf } from '../../src/masking/anonymity/hierarchies.js';
import { searchLevels } from '../../src/masking/anonymity/search.js';
import { rawValue } from '../../src/masking/cells.js';
import {
  defaultSitePolicy,
  maskRecords,
  MaskingError,
  parseSitePolicy,
  RESTRICTED_ZIP3,
  zipState,
  type Cell,
  type DatasetSchema,
  type FieldPlan,
  type MaskResult,
  type SitePolicy,
} from '../../src/masking/index.js';
import { generalizeContext } from '../../src/masking/transforms/generalize.js';

/**
 * Masking generalises before it suppresses: each quasi-identifier climbs its hierarchy until every
 * combination is shared by at least k rows (k = minCellSize), rows are suppressed only within the
 * suppression limit, and the summary says what the output holds and what it cost (NCP).
 */
const key = randomBytes(32);
const NOW = new Date('2025-06-01T00:00:00Z');

const SCHEMA: DatasetSchema = {
  patientIdField: 'mrn',
  fields: [
    { name: 'mrn', type: 'string', class: 'direct-identifier', identifier: 'medical-record-number', defaultTransform: 'pseudonymize' },
    { name: 'age', type: 'integer', class: 'quasi-identifier', identifier: 'age', generalization: 'age', defaultTransform: 'generalize' },
    { name: 'sex', type: 'category', class: 'quasi-identifier', identifier: 'demographic', defaultTransform: 'full' },
    { name: 'zip', type: 'string', class: 'quasi-identifier', identifier: 'zip', generalization: 'zip', defaultTransform: 'generalize' },
    { name: 'admitted', type: 'date', class: 'quasi-identifier', identifier: 'date', generalization: 'date', defaultTransform: 'generalize' },
    { name: 'diagnosis', type: 'category', class: 'clinical' },
  ],
};
const QUASI = ['age', 'sex', 'zip', 'admitted'] as const;
type Row = { mrn: string; age: string; sex: string; zip: string; admitted: string; diagnosis: string };

function researcher(rows: readonly Row[], policy: SitePolicy, schema: DatasetSchema = SCHEMA): Promise<MaskResult> {
  return maskRecords(rows, schema, policy, { role: 'researcher', studyId: 'study-1', pseudonymKey: key, optOut: new Set(), now: NOW });
}

function row(i: number, over: Partial<Row> = {}): Row {
  return { mrn: `MRN-${i}`, age: '50', sex: 'F', zip: '02139', admitted: '2023-05-06', diagnosis: 'I10', ...over };
}

// ---- An oracle for what each summary label means, written from the documented hierarchy ---------

const STATE_OF: Record<string, string> = { '021': 'MA', '024': 'MA', '036': 'NH', '100': 'NY', '556': 'MN' };

function expectedCell(field: (typeof QUASI)[number], label: string, raw: string): Cell {
  if (label === 'suppressed') return '*';
  if (field === 'sex') return label === 'full' ? raw : 'unknown label';
  if (field === 'admitted') return label === 'year' ? Number(raw.slice(0, 4)) : 'unknown label';
  if (field === 'zip') {
    const prefix = raw.slice(0, 3);
    if (label === 'ZIP3') return ['036', '556'].includes(prefix) ? '000' : prefix;
    return label === 'state' ? (STATE_OF[prefix] ?? 'unknown state') : 'unknown label';
  }
  const age = Number(raw);
  if (label === 'exact to 89, 90+') return age >= 90 ? '90+' : age;
  const band = /^(\d+)-year bands(?: \((\d+)\+\))?$/.exec(label);
  if (band === null) return 'unknown label';
  const width = Number(band[1]);
  const top = Number(band[2] ?? 90);
  if (age >= top) return `${top}+`;
  const lo = Math.floor(age / width) * width;
  return `${lo}-${Math.min(lo + width, top) - 1}`;
}

const rowArb = fc.record({
  age: fc.oneof(fc.integer({ min: 0, max: 105 }), fc.integer({ min: 55, max: 75 })),
  sex: fc.constantFrom('F', 'M'),
  zip: fc.tuple(fc.constantFrom('021', '021', '024', '036', '100', '556'), fc.integer({ min: 0, max: 99 })).map(([p, s]) => `${p}${String(s).padStart(2, '0')}`),
  year: fc.integer({ min: 2019, max: 2024 }),
  diagnosis: fc.constantFrom('I10', 'E11.9', 'J44.9'),
});

describe('k-anonymity by generalisation, then suppression (property)', () => {
  it('every released combination is shared by k rows, suppression stays within the limit when it can, and the summary describes the content', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(rowArb, { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 2, max: 11 }),
        fc.constantFrom(0, 0.02, 0.05, 0.1, 0.2),
        async (generated, k, limit) => {
          const rows = generated.map((g, i) => row(i, { age: String(g.age), sex: g.sex, zip: g.zip, admitted: `${g.year}-03-04`, diagnosis: g.diagnosis }));
          const result = await researcher(rows, { ...defaultSitePolicy('site-a'), minCellSize: k, suppressionLimit: limit });
          const { fields, kAnonymity, informationLoss } = result.summary;
          expect(kAnonymity).toBeDefined();
          const removed = QUASI.filter((q) => fields[q] === 'suppressed');
          const suppressed = result.records.map((r) => QUASI.some((q) => !removed.includes(q) && r[q] === '*'));
          // The summary says what each released value is.
          result.records.forEach((r, i) => {
            for (const q of QUASI) {
              if (suppressed[i] === true) expect(r[q]).toBe('*');
              else expect({ q, label: fields[q], cell: r[q] }).toEqual({ q, label: fields[q], cell: expectedCell(q, fields[q] as string, rows[i]![q]) });
            }
            expect(r['diagnosis']).toBe(rows[i]!.diagnosis);
          });
          // k-anonymity over the rows not suppressed.
          const classes = new Map<string, number>();
          result.records.forEach((r, i) => {
            if (suppressed[i] === true) return;
            const id = JSON.stringify(QUASI.map((q) => r[q]));
            classes.set(id, (classes.get(id) ?? 0) + 1);
          });
          for (const n of classes.values()) expect(n).toBeGreaterThanOrEqual(k);
          const count = suppressed.filter(Boolean).length;
          expect(result.summary.suppressedRows).toBe(count);
          expect(result.notes).toContain(`rows suppressed: ${count} of ${rows.length}`);
          const allowed = Math.floor(limit * rows.length);
          expect(kAnonymity?.outcome).toBe(count <= allowed ? 'k-anonymous' : 'over-suppression-limit');
          // Suppression beyond the limit only when even the top of every hierarchy (one class of all rows) cannot reach k.
          if (count > allowed) expect(rows.length).toBeLessThan(k);
          // Information loss: per quasi-identifier in [0, 1], 1 when removed, and their mean overall.
          for (const q of QUASI) {
            expect(informationLoss.fields[q]).toBeGreaterThanOrEqual(0);
            expect(informationLoss.fields[q]).toBeLessThanOrEqual(1);
            if (removed.includes(q)) expect(informationLoss.fields[q]).toBe(1);
          }
          const mean = QUASI.reduce((s, q) => s + (informationLoss.fields[q] as number), 0) / QUASI.length;
          expect(Math.abs(informationLoss.overall - mean)).toBeLessThan(1e-3);
        },
      ),
      { numRuns: 120 },
    );
  }, 240_000);
});

describe('k-anonymity: choices', () => {
  /** 11 patients in each decade from 20 to 79, all women, one ZIP and one year. */
  const decades = Array.from({ length: 66 }, (_, i) => row(i, { age: String(20 + Math.floor(i / 11) * 10 + (i % 10)) }));
  const policy: SitePolicy = { ...defaultSitePolicy('site-a'), minCellSize: 11 };

  it('climbs only as far as needed: 10-year bands hold here, 5-year bands would not', async () => {
    const result = await researcher(decades, policy);
    expect(result.summary.fields).toMatchObject({ age: '10-year bands', sex: 'full', zip: 'ZIP3', admitted: 'year', diagnosis: 'full', mrn: 'pseudonym' });
    expect(result.summary.suppressedRows).toBe(0);
    expect(result.records[0]).toMatchObject({ age: '20-29', sex: 'F', zip: '021', admitted: 2023 });
    // NCP of a 10-year band over ages 20..79: 9 / 59 on every row; the other fields are exact at their level.
    const age = Math.round((9 / 59) * 10_000) / 10_000;
    expect(result.summary.informationLoss.fields).toEqual({ age, sex: 0, zip: 0, admitted: 0 });
    expect(result.columns.find((c) => c.name === 'age')).toMatchObject({ transform: 'generalize', holds: '10-year bands', ncp: age });
    expect(result.notes).toEqual(expect.arrayContaining(['age: 10-year bands', 'sex: full', 'zip: ZIP3', 'rows suppressed: 0 of 66']));
  });

  it('suppresses a rare outlier rather than coarsening everyone, within the limit', async () => {
    const result = await researcher([...decades, row(66, { age: '95' })], policy);
    expect(result.summary.fields['age']).toBe('10-year bands');
    expect(result.summary.suppressedRows).toBe(1);
    expect(result.records[66]).toMatchObject({ age: '*', sex: '*', zip: '*', admitted: '*', diagnosis: 'I10' });
    expect(result.summary.kAnonymity).toMatchObject({ k: 11, suppressionLimit: 3, suppressedRows: 1, outcome: 'k-anonymous', strategy: 'lattice' });
  });

  it('generalises a ZIP code to its state before removing it; a restricted prefix still has its state', async () => {
    const rows = Array.from({ length: 22 }, (_, i) => row(i, { zip: i % 2 === 0 ? '02139' : '02481' }));
    rows.push(...Array.from({ length: 11 }, (_, i) => row(100 + i, { zip: `036${String(i).padStart(2, '0')}` })));
    const result = await researcher(rows, { ...policy, suppressionLimit: 0 });
    expect(result.summary.fields['zip']).toBe('ZIP3');
    // One 024 row fewer: ZIP3 no longer holds, the states (21 in MA, 11 in NH) do.
    const mixed = await researcher([...rows.slice(0, 21), ...rows.slice(22)], { ...policy, suppressionLimit: 0 });
    expect(mixed.summary.fields['zip']).toBe('state');
    expect(new Set(mixed.records.map((r) => r['zip']))).toEqual(new Set(['MA', 'NH']));
    expect(zipState('03601')).toBe('NH');
    expect(zipState('00100')).toBeUndefined();
  });

  it('fewer rows than k: every row is suppressed, and the decision says the limit was exceeded', async () => {
    const result = await researcher([row(1), row(2, { sex: 'M' }), row(3)], policy);
    expect(result.records.map((r) => r['sex'])).toEqual(['*', '*', '*']);
    expect(result.summary.kAnonymity).toMatchObject({ outcome: 'over-suppression-limit', suppressedRows: 3, suppressionLimit: 0 });
    expect(result.notes).toContain('k-anonymity (k = 11) needed 3 rows suppressed ("*"), more than the limit of 0');
  });

  it('Safe Harbor alone when the policy turns k-anonymity off: no k-anonymity summary, NCP still reported', async () => {
    const result = await researcher(decades, { ...policy, suppressRareQuasiIdentifiers: false });
    expect(result.summary.kAnonymity).toBeUndefined();
    expect(result.summary.fields['age']).toBe('exact to 89, 90+');
    expect(result.summary.informationLoss.fields['age']).toBe(0);
    expect(result.records[0]?.['age']).toBe(20);
  });

  it('other roles are not k-anonymised (clinicians see everything, training keeps row-level features)', async () => {
    const training = await maskRecords(decades.slice(0, 3), SCHEMA, policy, { role: 'training', features: ['age', 'sex'], optOut: new Set(), now: NOW });
    expect(training.summary.kAnonymity).toBeUndefined();
    expect(training.records.map((r) => r['age'])).toEqual([20, 21, 22]);
  });

  it('the suppression limit is a share of rows from 0 to 1 in the site policy', () => {
    expect(parseSitePolicy({ siteId: 'a', suppressionLimit: 0.1 }).suppressionLimit).toBe(0.1);
    for (const bad of [-0.1, 1.5, '5%']) {
      expect(() => parseSitePolicy({ siteId: 'a', suppressionLimit: bad })).toThrow(MaskingError);
      expect(() => parseSitePolicy({ siteId: 'a', suppressionLimit: bad })).toThrow(expect.objectContaining({ code: 'MASK_INVALID_POLICY' }));
    }
  });
});

describe('hierarchies and search', () => {
  const plan = (name: string, generalization: FieldPlan['field']['generalization'], transform: 'generalize' | 'full' = 'generalize'): FieldPlan => ({
    field: { name, type: 'string', class: 'quasi-identifier', ...(generalization === undefined ? {} : { generalization }) },
    transform,
    spec: transform,
    source: 'default',
  });
  const ctx = generalizeContext(undefined, undefined, 2025);
  const dateArb = fc
    .record({ y: fc.integer({ min: 1900, max: 2024 }), m: fc.integer({ min: 1, max: 12 }), d: fc.integer({ min: 1, max: 28 }) })
    .map(({ y, m, d }) => `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`);
  const kinds = [
    { plan: plan('age', 'age'), values: fc.integer({ min: 0, max: 110 }).map(String) },
    { plan: plan('age', 'age', 'full'), values: fc.integer({ min: 0, max: 110 }).map(String) },
    { plan: plan('dob', 'birth-date', 'full'), values: dateArb },
    { plan: plan('yob', 'birth-year'), values: fc.integer({ min: 1900, max: 2024 }).map(String) },
    { plan: plan('admitted', 'date', 'full'), values: dateArb },
    // Not the restricted prefixes: "000" gathers those of every state, and the state level hands them
    // back to their states (allowed by Safe Harbor), so there the state level is not a coarsening.
    {
      plan: plan('zip', 'zip', 'full'),
      values: fc
        .integer({ min: 1000, max: 99999 })
        .map((z) => String(z).padStart(5, '0'))
        .filter((z) => !RESTRICTED_ZIP3.has(z.slice(0, 3))),
    },
    { plan: plan('bmi', 'numeric', 'full'), values: fc.integer({ min: 100, max: 500 }).map((x) => String(x / 10)) },
  ];

  it.each(kinds.map((k) => [`${k.plan.field.generalization} (${k.plan.transform})`, k] as const))('%s: each level coarsens the one below it, and "*" tops it', (_, { plan: p, values }) => {
    fc.assert(
      fc.property(fc.array(values, { minLength: 2, maxLength: 60 }), (raws) => {
        const kind = hierarchyOf(p, ctx);
        const shown = raws.map((r) => (kind.specs[0]?.cell(r) ?? null) as Cell);
        const h = buildHierarchy(p.field.name, raws.map(rawValue), shown, kind.specs, kind.scale);
        for (let l = 0; l + 1 < h.levels.length; l++) {
          const upper = new Map<string, string>();
          raws.forEach((_, i) => {
            const below = JSON.stringify(h.levels[l]!.cells[i]);
            const above = JSON.stringify(h.levels[l + 1]!.cells[i]);
            expect(upper.get(below) ?? above).toBe(above);
            upper.set(below, above);
            expect(h.levels[l + 1]!.loss[i]!).toBeGreaterThanOrEqual(h.levels[l]!.loss[i]! - 1e-9);
          });
        }
        expect(h.levels.at(-1)?.cells.every((c) => c === '*')).toBe(true);
        expect(h.levels.at(-1)?.loss.every((x) => x === 1)).toBe(true);
        if (p.transform === 'full') expect(h.levels[0]?.loss.every((x) => x === 0)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('the greedy climb (for lattices too large to search) also reaches k, raising the field with the most distinct values first', () => {
    const raws = Array.from({ length: 40 }, (_, i) => ({ age: String(20 + i), sex: i % 2 === 0 ? 'F' : 'M' }));
    const hs = (['age', 'sex'] as const).map((name) => {
      const p = name === 'age' ? plan('age', 'age') : plan('sex', 'suppress', 'full');
      const kind = hierarchyOf(p, ctx);
      const column = raws.map((r) => rawValue(r[name]));
      return buildHierarchy(name, column, column.map((v) => (v === undefined ? null : (kind.specs[0]?.cell(v) ?? null))), kind.specs, kind.scale);
    });
    const greedy = searchLevels(hs, raws.length, 10, 0, 0);
    expect(greedy.strategy).toBe('greedy');
    expect(greedy.suppressedCount).toBe(0);
    expect(greedy.levels[1]).toBe(0); // sex kept: age, with far more distinct values, climbed instead
    expect(hs[0]?.levels[greedy.levels[0] as number]?.label).toBe('20-year bands (80+)');
    expect(searchLevels(hs, raws.length, 10, 0).strategy).toBe('lattice');
  });
});
