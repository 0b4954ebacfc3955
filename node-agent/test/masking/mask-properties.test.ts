import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  defaultSitePolicy,
  maskRecords,
  ROLES,
  runMaskedQuery,
  SENSITIVITY_CLASSES,
  writeCsv,
  type MaskResult,
  type Role,
  type SensitivityClass,
  type SitePolicy,
  type TransformSpec,
} from '../../src/masking/index.js';
import { PrivacyLedger } from '../../src/privacy/ledger/index.js';
import { SCHEMA, type PatientRow } from './support/fixtures.js';

/**
 * Property: for every role, random records and random site policies, nothing the masking layer emits
 * (records, columns, notes, summary, exported CSV, log lines, errors, filter/sort results) contains a
 * value the policy forbids that role to see.
 *
 * The oracle below is written independently of the implementation: a value is forbidden when its
 * patient opted out, when the role is the auditor, when a clinician asks about another site's
 * patient, when a training job did not approve the field, or when the policy's transform for that
 * role and field is anything but `full` (generalisations are checked where they must differ from the
 * raw value: ages of 90 and over, full dates, 5-digit ZIPs, exact numbers).
 */

const FIELDS = SCHEMA.fields.map((f) => f.name) as (keyof PatientRow)[];
const CLASS_OF = Object.fromEntries(SCHEMA.fields.map((f) => [f.name, f.class])) as Record<keyof PatientRow, SensitivityClass>;
/** Values unique enough that finding them as a substring anywhere is a leak. */
const DISTINCTIVE: ReadonlySet<keyof PatientRow> = new Set(['mrn', 'name', 'dob', 'admitted', 'hiv', 'notes']);

/** What the built-in defaults give each role for this schema (hand-written from the spec, not from the code). */
const DEFAULTS: Record<Exclude<Role, 'auditor'>, Partial<Record<keyof PatientRow, string>>> = {
  clinician: {},
  'site-steward': {},
  researcher: { mrn: 'pseudonymize', name: 'redact', dob: 'generalize', zip: 'generalize', age: 'generalize', admitted: 'generalize', sex: 'full', site: 'full', hba1c: 'full', hiv: 'redact', notes: 'redact' },
  training: { mrn: 'redact', name: 'redact', dob: 'generalize', zip: 'generalize', age: 'generalize', admitted: 'generalize', sex: 'full', site: 'full', hba1c: 'full', hiv: 'full', notes: 'full' },
};

const NOISE: TransformSpec = { transform: 'noise', mechanism: 'laplace', epsilon: 0.1, lower: 0, upper: 20, granularity: 1 };

const transformArb = fc.constantFrom<TransformSpec>('full', 'generalize', 'pseudonymize', 'redact');
const rolePolicyArb = fc.record({
  byClass: fc.record(Object.fromEntries(SENSITIVITY_CLASSES.map((c) => [c, transformArb])) as Record<SensitivityClass, fc.Arbitrary<TransformSpec>>),
  fields: fc.dictionary(fc.constantFrom(...FIELDS), transformArb, { maxKeys: 4 }).chain((fields) =>
    fc.boolean().map((noisyHba1c) => (noisyHba1c ? { ...fields, hba1c: NOISE } : fields)),
  ),
});

/** Either the built-in defaults, or a policy that states a transform for every class of every role. */
const policyArb: fc.Arbitrary<{ policy: SitePolicy; explicit: boolean }> = fc.oneof(
  fc.record({ minCellSize: fc.integer({ min: 1, max: 4 }), suppress: fc.boolean() }).map(({ minCellSize, suppress }) => ({
    policy: { ...defaultSitePolicy('site-a'), minCellSize, suppressRareQuasiIdentifiers: suppress },
    explicit: false,
  })),
  fc
    .record({
      minCellSize: fc.integer({ min: 1, max: 4 }),
      suppress: fc.boolean(),
      clinician: rolePolicyArb,
      researcher: rolePolicyArb,
      training: rolePolicyArb,
      steward: rolePolicyArb,
      bands: fc.option(fc.constant([0, 18, 40, 65]), { nil: undefined }),
    })
    .map(({ minCellSize, suppress, clinician, researcher, training, steward, bands }) => ({
      policy: {
        siteId: 'site-a',
        minCellSize,
        suppressRareQuasiIdentifiers: suppress,
        roles: { clinician, researcher, training, 'site-steward': steward },
        ...(bands === undefined ? {} : { ageBands: bands }),
      },
      explicit: true,
    })),
);

const token = fc.string({ unit: fc.constantFrom(...'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'), minLength: 10, maxLength: 10 });
const isoDate = fc
  .record({ y: fc.integer({ min: 1900, max: 2024 }), m: fc.integer({ min: 1, max: 12 }), d: fc.integer({ min: 1, max: 28 }) })
  .map(({ y, m, d }) => `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`);
const rowArb = fc.record({
  tag: token,
  dob: isoDate,
  admitted: isoDate,
  zip: fc.integer({ min: 0, max: 99999 }).map((z) => String(z).padStart(5, '0')),
  age: fc.integer({ min: 0, max: 120 }),
  sex: fc.constantFrom('F', 'M'),
  site: fc.constantFrom('site-a', 'site-b'),
  hba1c: fc.integer({ min: 40000, max: 149999 }),
  optedOut: fc.boolean(),
});
const recordsArb = fc.uniqueArray(rowArb, { maxLength: 14, selector: (r) => r.tag }).map((rows) =>
  rows.map(
    (r, i): { row: PatientRow; optedOut: boolean } => ({
      optedOut: r.optedOut && i % 3 === 0,
      row: {
        mrn: `MRN-${r.tag}`,
        name: `NAME-${r.tag}`,
        dob: r.dob,
        zip: r.zip,
        age: String(r.age),
        admitted: r.admitted,
        sex: r.sex,
        site: r.site,
        hba1c: (r.hba1c / 10000).toFixed(4), // four decimals: a noised (integer) value never equals it
        hiv: `HIV-${r.tag}`,
        notes: `NOTE-${r.tag}`,
      },
    }),
  ),
);

const contextArb = fc.record({
  role: fc.constantFrom(...ROLES),
  features: fc.subarray(FIELDS.filter((f) => CLASS_OF[f] !== 'direct-identifier'), { minLength: 1 }),
  requested: fc.dictionary(fc.constantFrom(...FIELDS), fc.constantFrom('full' as const, 'redact' as const), { maxKeys: 3 }),
  applyNoise: fc.boolean(),
  whereColumn: fc.nat(),
  whereRow: fc.nat(),
  orderColumn: fc.nat(),
});

function transformFor(policy: SitePolicy, explicit: boolean, role: Exclude<Role, 'auditor'>, field: keyof PatientRow): string {
  if (!explicit) return DEFAULTS[role][field] ?? 'full';
  const rolePolicy = policy.roles?.[role];
  const spec = rolePolicy?.fields?.[field] ?? rolePolicy?.byClass?.[CLASS_OF[field]];
  return typeof spec === 'string' ? spec : (spec?.transform ?? 'full');
}

/** Whether `raw` of `field` may never appear for this role under the policy. */
function forbidden(field: keyof PatientRow, raw: string, transform: string): boolean {
  if (transform === 'full') return false;
  if (transform !== 'generalize') return true;
  if (field === 'age') return Number(raw) >= 90; // Safe Harbor keeps 0..89 exactly
  return true; // full dates, 5-digit ZIPs, 4-decimal numbers, categories: never equal to their generalisation
}

let ledgerDir: string;
let ledger: PrivacyLedger;
beforeAll(async () => {
  ledgerDir = await mkdtemp(join(tmpdir(), 'medfed-mask-prop-'));
  ledger = new PrivacyLedger({ stateDir: ledgerDir, dataset: 'prop' });
  await ledger.setBudget({ epsilon: 1e9, delta: 0 });
});
afterAll(async () => {
  await rm(ledgerDir, { recursive: true, force: true });
});

const siteKey = randomBytes(32);

describe('masking never emits a value the policy forbids (property)', () => {
  it('for every role, random records and random policies', async () => {
    await fc.assert(
      fc.asyncProperty(policyArb, recordsArb, contextArb, async ({ policy, explicit }, generated, c) => {
        const rows = generated.map((g) => g.row);
        const optOut = new Set(generated.filter((g) => g.optedOut).map((g) => g.row.mrn));
        const logs: string[] = [];
        const outputs: string[] = [];
        /** Cells by column: a value is only a leak in its own field's column (or as distinctive text). */
        const cells: [string, unknown][] = [];
        let result: MaskResult | undefined;
        try {
          result = await maskRecords(rows, SCHEMA, policy, {
            role: c.role,
            studyId: 'study-1',
            site: 'site-a',
            features: c.features,
            requested: c.requested,
            optOut,
            pseudonymKey: siteKey,
            noise: c.applyNoise ? { mode: 'apply', ledger, purpose: 'property test' } : { mode: 'preview' },
            now: new Date('2025-01-01T00:00:00Z'),
            log: (line) => logs.push(line),
          });
        } catch (error) {
          outputs.push(String(error), JSON.stringify((error as { details?: unknown }).details ?? null));
        }
        if (result !== undefined) {
          outputs.push(JSON.stringify(result), writeCsv(result.columns.map((col) => col.name), result.records));
          // A noised column holds random numbers, which may equal another field's raw value (a noised
          // HbA1c of 50 next to an age of 50) by chance: that is not a leak, so those cells are left out.
          const noised = new Set(result.columns.filter((col) => col.transform === 'noise').map((col) => col.name));
          const shown = (r: Record<string, unknown>) => Object.entries(r).filter(([k]) => !noised.has(k));
          cells.push(...result.records.flatMap(shown));
          const columns = result.columns.map((col) => col.name);
          if (columns.length > 0 && result.records.length > 0) {
            const whereField = columns[c.whereColumn % columns.length] as string;
            const whereValue = result.records[c.whereRow % result.records.length]?.[whereField] ?? null;
            const orderField = columns[c.orderColumn % columns.length] as string;
            try {
              const q = runMaskedQuery(
                result,
                { where: [{ field: whereField, equals: whereValue }], orderBy: [{ field: orderField, direction: 'desc' }] },
                { role: c.role, minCellSize: policy.minCellSize },
              );
              outputs.push(JSON.stringify(q));
              if (q.kind === 'records') cells.push(...q.records.flatMap(shown));
            } catch (error) {
              outputs.push(String(error));
            }
          }
        }
        outputs.push(...logs);
        const text = outputs.join('\n');
        // A generalised cell may equal another field's raw value by chance (a ZIP3 "108" next to an
        // age of 108): that is not a leak, so cells are compared within their own column.
        const cellTexts = new Set(cells.filter(([, x]) => x !== null).map(([k, x]) => `${k}\u0000${String(x)}`));

        const verdicts = generated.flatMap(({ row, optedOut }) => {
          const hidden = optedOut || c.role === 'auditor' || (c.role === 'clinician' && row.site !== 'site-a');
          return FIELDS.map((field) => {
            const raw = row[field];
            const isForbidden =
              hidden ||
              (c.role === 'training' && !c.features.includes(field)) ||
              (c.role !== 'auditor' && forbidden(field, raw, transformFor(policy, explicit, c.role, field)));
            return { field, raw, isForbidden };
          });
        });
        // A value some visible cell may legitimately show (another patient's equal age, a shared sex
        // or site) is not evidence of a leak.
        const allowed = new Set(verdicts.filter((v) => !v.isForbidden).map((v) => `${v.field}\u0000${v.raw}`));
        for (const { field, raw, isForbidden } of verdicts) {
          if (!isForbidden || allowed.has(`${field}\u0000${raw}`)) continue;
          expect({ field, raw, leakedAsCell: cellTexts.has(`${field}\u0000${raw}`) }).toEqual({ field, raw, leakedAsCell: false });
          if (DISTINCTIVE.has(field)) expect({ field, raw, leakedInText: text.includes(raw) }).toEqual({ field, raw, leakedInText: false });
        }
      }),
      { numRuns: 150 },
    );
  }, 240_000);
});
