import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import {
  checkQuery,
  defaultSitePolicy,
  MaskingError,
  maskRecords,
  NOISE_PREVIEW,
  parseSitePolicy,
  runMaskedQuery,
  suppressSmallCells,
  type MaskContext,
  type SitePolicy,
} from '../../src/masking/index.js';
import { PrivacyError } from '../../src/privacy/errors.js';
import { PrivacyLedger } from '../../src/privacy/ledger/index.js';
import { patient, SCHEMA } from './support/fixtures.js';

const key = randomBytes(32);
const base: SitePolicy = { ...defaultSitePolicy('site-a'), suppressRareQuasiIdentifiers: false };
const ctx = (over: Partial<MaskContext> = {}): MaskContext => ({ role: 'researcher', studyId: 'study-1', pseudonymKey: key, optOut: new Set(), site: 'site-a', ...over });

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (error) {
    if (error instanceof MaskingError || error instanceof PrivacyError) return error.code;
    return `unexpected: ${String(error)}`;
  }
  return undefined;
}

describe('maskRecords: roles', () => {
  const rows = Array.from({ length: 3 }, (_, i) => patient(i));

  it('researcher: Safe Harbor defaults, clinical values kept, sensitive conditions withheld', async () => {
    const result = await maskRecords(rows, SCHEMA, base, ctx({ now: new Date('2025-01-01T00:00:00Z') }));
    expect(result.columns.map((c) => `${c.name}:${c.transform}`)).toEqual([
      'mrn:pseudonymize',
      'dob:generalize',
      'zip:generalize',
      'age:generalize',
      'admitted:generalize',
      'sex:full',
      'site:full',
      'hba1c:full',
    ]);
    expect(result.records[0]).toEqual({ mrn: expect.stringMatching(/^ps_/), dob: 1950, zip: '021', age: 20, admitted: 2023, sex: 'F', site: 'site-a', hba1c: '5.0' });
    expect(JSON.stringify(result)).not.toMatch(/Name-|MRN-|positive|note about/);
  });

  it('clinician: everything, but only the clinician’s own site’s patients', async () => {
    const mixed = [patient(1), patient(2, { site: 'site-b' }), patient(3)];
    const result = await maskRecords(mixed, SCHEMA, base, ctx({ role: 'clinician', site: 'site-a' }));
    expect(result.records.map((r) => r['mrn'])).toEqual(['MRN-1001', 'MRN-1003']);
    expect(result.records[0]?.['name']).toBe('Name-1 Surname');
    expect(result.summary.excludedOtherSite).toBe(1);
    // Without a site field the records are the policy's site's: other clinicians are refused.
    const noSiteField = { ...SCHEMA, siteField: undefined };
    expect(await codeOf(maskRecords(mixed, noSiteField, base, ctx({ role: 'clinician', site: 'site-b' })))).toBe('MASK_FOREIGN_SITE');
    expect(await codeOf(maskRecords(mixed, SCHEMA, base, ctx({ role: 'clinician', site: undefined })))).toBe('MASK_FOREIGN_SITE');
  });

  it('auditor: metadata only (names, types, classes, counts), no values', async () => {
    const result = await maskRecords([...rows, patient(9, { notes: '' })], SCHEMA, base, ctx({ role: 'auditor' }));
    expect(result.records).toEqual([]);
    expect(result.columns.find((c) => c.name === 'notes')).toEqual({ name: 'notes', type: 'string', class: 'sensitive-clinical', transform: 'metadata', identifier: 'free-text', count: 3 });
    expect(result.notes).toContain('metadata only: 4 records, 11 fields; no values are released to auditors');
    expect(JSON.stringify(result)).not.toMatch(/MRN-|Name-|site-a|5\.0/);
  });

  it("training: only the job's approved features, after transforms", async () => {
    const result = await maskRecords(rows, SCHEMA, base, ctx({ role: 'training', features: ['age', 'hba1c', 'sex'] }));
    expect(result.columns.map((c) => c.name)).toEqual(['age', 'sex', 'hba1c']);
    expect(result.records[1]).toEqual({ age: 21, sex: 'M', hba1c: '5.1' });
    expect(await codeOf(maskRecords(rows, SCHEMA, base, ctx({ role: 'training' })))).toBe('MASK_FEATURES_REQUIRED');
    expect(await codeOf(maskRecords(rows, SCHEMA, base, ctx({ role: 'training', features: ['mrn', 'age'] })))).toBe('MASK_DIRECT_IDENTIFIER');
    expect(await codeOf(maskRecords(rows, SCHEMA, base, ctx({ role: 'training', features: ['weight'] })))).toBe('MASK_UNKNOWN_FIELD');
  });

  it('site steward: everything of the site', async () => {
    const result = await maskRecords(rows, SCHEMA, base, ctx({ role: 'site-steward' }));
    expect(result.records[2]).toEqual(patient(2));
  });

  it('refuses an unknown role', async () => {
    expect(await codeOf(maskRecords(rows, SCHEMA, base, ctx({ role: 'janitor' as never })))).toBe('MASK_UNKNOWN_ROLE');
  });
});

describe('maskRecords: the site policy has the last word', () => {
  const rows = [patient(1), patient(2)];

  it('a request for full where the site says generalize gets generalize (with a note); stricter requests are granted', async () => {
    const result = await maskRecords(rows, SCHEMA, base, ctx({ requested: { dob: 'full', hba1c: 'redact', sex: 'generalize' } }));
    expect(result.columns.find((c) => c.name === 'dob')?.transform).toBe('generalize');
    expect(result.notes).toContain('field "dob": requested full, the site policy grants generalize; generalize applied');
    expect(result.columns.map((c) => c.name)).not.toContain('hba1c');
    expect(result.records[0]?.['sex']).toBeNull(); // categories have no generalisation: withheld
    expect(await codeOf(maskRecords(rows, SCHEMA, base, ctx({ requested: { weight: 'full' } })))).toBe('MASK_UNKNOWN_FIELD');
  });

  it('policy field rules beat class rules beat defaults', async () => {
    const policy = parseSitePolicy({
      siteId: 'site-a',
      suppressRareQuasiIdentifiers: false,
      roles: { researcher: { byClass: { clinical: 'redact' }, fields: { hba1c: { transform: 'generalize', binWidth: 0.5 }, hiv: 'full' } } },
    });
    const result = await maskRecords(rows, SCHEMA, policy, ctx());
    expect(result.records[0]).toMatchObject({ hba1c: '[5,5.5)', hiv: 'negative' });
    expect(result.columns.map((c) => c.name)).not.toContain('site');
  });

  it('researcher age bands from the policy', async () => {
    const policy = { ...base, ageBands: [0, 18, 40, 65] };
    const result = await maskRecords([patient(1, { age: '45' }), patient(2, { age: '91' })], SCHEMA, policy, ctx());
    expect(result.records.map((r) => r['age'])).toEqual(['40-64', '90+']);
  });

  it('rails above the policy: a direct identifier in full, or an exact combination of quasi-identifiers, is refused for researchers', async () => {
    const showsNames = parseSitePolicy({ siteId: 'site-a', roles: { researcher: { fields: { name: 'full' } } } });
    expect(await codeOf(maskRecords(rows, SCHEMA, showsNames, ctx()))).toBe('MASK_DIRECT_IDENTIFIER');
    const exactDobAndZip = parseSitePolicy({ siteId: 'site-a', roles: { researcher: { fields: { dob: 'full', zip: 'full' } } } });
    expect(await codeOf(maskRecords(rows, SCHEMA, exactDobAndZip, ctx()))).toBe('MASK_QUASI_IDENTIFIER_COMBINATION');
    // Exact date of birth with sex (allowed in full by Safe Harbor) is still a combination.
    const exactDob = parseSitePolicy({ siteId: 'site-a', roles: { researcher: { fields: { dob: 'full' } } } });
    expect(await codeOf(maskRecords(rows, SCHEMA, exactDob, ctx()))).toBe('MASK_QUASI_IDENTIFIER_COMBINATION');
    // The clinician is not de-identified: the same policy does not bind clinicians.
    expect(await codeOf(maskRecords(rows, SCHEMA, exactDobAndZip, ctx({ role: 'clinician' })))).toBeUndefined();
  });

  it.each([
    [{ siteId: '' }],
    [{ siteId: 'a', minCellSize: 0 }],
    [{ siteId: 'a', roles: { janitor: {} } }],
    [{ siteId: 'a', roles: { researcher: { byClass: { secret: 'full' } } } }],
    [{ siteId: 'a', roles: { researcher: { fields: { hba1c: 'noise' } } } }],
    [{ siteId: 'a', roles: { researcher: { fields: { hba1c: { transform: 'noise', mechanism: 'laplace', epsilon: 1, lower: 5, upper: 1 } } } } }],
    [{ siteId: 'a', ageBands: [40, 18] }],
  ])('refuses the invalid policy %j', async (policy) => {
    expect(await codeOf(() => parseSitePolicy(policy))).toBe('MASK_INVALID_POLICY');
  });
});

describe('maskRecords: opt-outs, pseudonyms, suppression', () => {
  it('patients who opted out are excluded from every use, for every role', async () => {
    const rows = [patient(1), patient(2), patient(3)];
    for (const role of ['researcher', 'clinician', 'auditor', 'training', 'site-steward'] as const) {
      const result = await maskRecords(rows, SCHEMA, base, ctx({ role, optOut: new Set(['MRN-1002']), features: ['age', 'hiv'] }));
      expect(result.summary.excludedOptedOut).toBe(1);
      expect(JSON.stringify(result)).not.toContain('MRN-1002');
      if (role !== 'auditor') expect(result.records).toHaveLength(2);
      if (role === 'auditor') expect(result.columns[0]?.count).toBe(2);
    }
    const noId = { ...SCHEMA, patientIdField: undefined };
    expect(await codeOf(maskRecords(rows, noId, base, ctx({ optOut: new Set(['MRN-1002']) })))).toBe('MASK_OPT_OUT_UNRESOLVABLE');
  });

  it('pseudonymised output needs a study id and the site key', async () => {
    const rows = [patient(1)];
    expect(await codeOf(maskRecords(rows, SCHEMA, base, ctx({ studyId: undefined })))).toBe('MASK_STUDY_REQUIRED');
    expect(await codeOf(maskRecords(rows, SCHEMA, base, ctx({ pseudonymKey: undefined })))).toBe('MASK_KEY_INVALID');
  });

  it('researcher rows still in a class smaller than minCellSize after generalising are suppressed, within the suppression limit', async () => {
    // One row in four may be suppressed: the lone M row is, and the other rows keep every value.
    const policy = { ...defaultSitePolicy('site-a'), minCellSize: 3, suppressionLimit: 0.25 };
    const common = { dob: '1970-01-01', zip: '02139', age: '50', admitted: '2023-01-01', sex: 'F' };
    const rows = [patient(1, common), patient(2, common), patient(3, common), patient(4, { ...common, sex: 'M' })];
    const result = await maskRecords(rows, SCHEMA, policy, ctx({ now: new Date('2025-01-01T00:00:00Z') }));
    expect(result.records.map((r) => r['sex'])).toEqual(['F', 'F', 'F', '*']);
    expect(result.records[0]).toMatchObject({ dob: 1970, zip: '021', age: 50, admitted: 2023, sex: 'F' });
    expect(result.records[3]).toMatchObject({ dob: '*', zip: '*', age: '*', admitted: '*', hba1c: '5.4' });
    expect(result.summary.suppressedRows).toBe(1);
    expect(result.notes).toContain('rows suppressed: 1 of 4');
    // With the default limit (5%, no row of four) sex is generalised to "*" instead, on every row.
    const strict = await maskRecords(rows, SCHEMA, { ...defaultSitePolicy('site-a'), minCellSize: 3 }, ctx({ now: new Date('2025-01-01T00:00:00Z') }));
    expect(strict.records.map((r) => r['sex'])).toEqual(['*', '*', '*', '*']);
    expect(strict.records[3]).toMatchObject({ dob: 1970, zip: '021', age: 50, admitted: 2023 });
    expect(strict.summary).toMatchObject({ suppressedRows: 0, fields: { sex: 'suppressed', age: 'exact to 89, 90+' } });
  });
});

describe('maskRecords: noise', () => {
  const noisy = parseSitePolicy({
    siteId: 'site-a',
    suppressRareQuasiIdentifiers: false,
    roles: { researcher: { fields: { hba1c: { transform: 'noise', mechanism: 'laplace', epsilon: 0.5, lower: 4, upper: 14, granularity: 0.1 } } } },
  });

  it('preview shows a marker, draws nothing and spends no budget', async () => {
    const result = await maskRecords([patient(1)], SCHEMA, noisy, ctx());
    expect(result.records[0]?.['hba1c']).toBe(NOISE_PREVIEW);
    expect(result.summary.epsilonSpent).toBe(0);
    expect(result.notes.join('\n')).toMatch(/no noise was drawn and no privacy budget was spent/);
  });

  it('apply charges the ledger first (epsilon x rows per patient), then releases grid values', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'medfed-mask-'));
    dirs.push(dir);
    const ledger = new PrivacyLedger({ stateDir: dir, dataset: 'ds' });
    await ledger.setBudget({ epsilon: 2, delta: 0 });
    const rows = [patient(1), patient(2), patient(2, { hba1c: '9.0' })]; // MRN-1002 has two rows
    const noise = { mode: 'apply' as const, ledger, purpose: 'researcher export' };
    const result = await maskRecords(rows, SCHEMA, noisy, ctx({ noise }));
    expect(result.summary.epsilonSpent).toBe(1);
    expect((await ledger.read()).spent.epsilon).toBe(1);
    for (const r of result.records) {
      const v = r['hba1c'] as number;
      expect(typeof v).toBe('number');
      expect(Math.abs(Math.round(v * 10) - v * 10)).toBeLessThan(1e-9);
    }
    await maskRecords(rows, SCHEMA, noisy, ctx({ noise }));
    // The third release would need epsilon 1 more than the budget of 2 allows.
    expect(await codeOf(maskRecords(rows, SCHEMA, noisy, ctx({ noise })))).toBe('PRIVACY_BUDGET_EXCEEDED');
  });

  it('noise on a non-numeric field, or applied without a ledger, is refused', async () => {
    const onText = parseSitePolicy({
      siteId: 'site-a',
      roles: { researcher: { fields: { hiv: { transform: 'noise', mechanism: 'laplace', epsilon: 1, lower: 0, upper: 1 } } } },
    });
    expect(await codeOf(maskRecords([patient(1)], SCHEMA, onText, ctx()))).toBe('MASK_NOISE_UNCONFIGURED');
    const noLedger = { mode: 'apply' as const, ledger: undefined as never, purpose: 'x' };
    expect(await codeOf(maskRecords([patient(1)], SCHEMA, noisy, ctx({ noise: noLedger })))).toBe('MASK_NOISE_NEEDS_LEDGER');
  });
});

describe('queries over masked records', () => {
  const rows = Array.from({ length: 30 }, (_, i) => patient(i, { sex: i < 20 ? 'F' : 'M', zip: i < 12 ? '02139' : '03601' }));
  const request = { role: 'researcher' as const };

  it('checkQuery refuses redacted, unknown and (for auditors) any value fields', () => {
    expect(() => checkQuery({ select: ['name'] }, SCHEMA, base, request)).toThrow(expect.objectContaining({ code: 'MASK_FIELD_NOT_VISIBLE' }));
    expect(() => checkQuery({ where: [{ field: 'notes', equals: 'x' }] }, SCHEMA, base, request)).toThrow(expect.objectContaining({ code: 'MASK_FIELD_NOT_VISIBLE' }));
    expect(() => checkQuery({ select: ['weight'] }, SCHEMA, base, request)).toThrow(expect.objectContaining({ code: 'MASK_UNKNOWN_FIELD' }));
    expect(() => checkQuery({ groupBy: ['sex'] }, SCHEMA, base, { role: 'auditor' })).toThrow(expect.objectContaining({ code: 'MASK_FIELD_NOT_VISIBLE' }));
    expect(checkQuery({ select: ['age', 'hba1c'] }, SCHEMA, base, request).role).toBe('researcher');
  });

  it('checkQuery refuses an exact quasi-identifier combination among the fields a query returns', () => {
    const policy = parseSitePolicy({ siteId: 'site-a', roles: { researcher: { fields: { dob: 'full', zip: 'full' } } } });
    expect(() => checkQuery({ select: ['dob', 'zip'] }, SCHEMA, policy, request)).toThrow(expect.objectContaining({ code: 'MASK_QUASI_IDENTIFIER_COMBINATION' }));
    expect(checkQuery({ select: ['dob', 'hba1c'] }, SCHEMA, policy, request).fields.length).toBe(SCHEMA.fields.length);
  });

  it('filters and sorts on masked values only; a filter isolating fewer than minCellSize patients is refused', async () => {
    const masked = await maskRecords(rows, SCHEMA, base, ctx());
    const byZip = runMaskedQuery(masked, { where: [{ field: 'zip', equals: '000' }], orderBy: [{ field: 'mrn' }], select: ['mrn', 'zip'] }, { role: 'researcher', minCellSize: 11 });
    expect(byZip.kind).toBe('records');
    if (byZip.kind !== 'records') return;
    expect(byZip.records).toHaveLength(18);
    const pseudonyms = byZip.records.map((r) => r['mrn'] as string);
    expect(pseudonyms).toEqual([...pseudonyms].sort());
    // The raw ZIP matches nothing: the filter never sees unmasked values.
    expect(runMaskedQuery(masked, { where: [{ field: 'zip', equals: '03601' }] }, { role: 'researcher', minCellSize: 11 })).toEqual({ kind: 'records', records: [] });
    expect(() => runMaskedQuery(masked, { where: [{ field: 'sex', equals: 'M' }] }, { role: 'researcher', minCellSize: 11 })).toThrow(expect.objectContaining({ code: 'MASK_SMALL_CELL' }));
    expect(() => runMaskedQuery(masked, { select: ['name'] }, { role: 'researcher', minCellSize: 11 })).toThrow(expect.objectContaining({ code: 'MASK_FIELD_NOT_VISIBLE' }));
  });

  it('group counts below minCellSize are suppressed', async () => {
    const masked = await maskRecords(rows, SCHEMA, base, ctx());
    const counts = runMaskedQuery(masked, { groupBy: ['sex'] }, { role: 'researcher', minCellSize: 11 });
    expect(counts).toEqual({
      kind: 'counts',
      cells: [
        { key: { sex: 'F' }, count: 20, suppressed: false },
        { key: { sex: 'M' }, count: null, suppressed: true },
      ],
      suppressed: 1,
    });
  });

  it('suppressSmallCells: default minimum 11, suppress or refuse', () => {
    const cells = [
      { key: { ward: 'A' }, count: 11 },
      { key: { ward: 'B' }, count: 10 },
      { key: { ward: 'C' }, count: 0 },
    ];
    expect(suppressSmallCells(cells).cells.map((c) => c.count)).toEqual([11, null, 0]);
    expect(() => suppressSmallCells(cells, { onSmallCell: 'refuse' })).toThrow(expect.objectContaining({ code: 'MASK_SMALL_CELL' }));
    expect(suppressSmallCells(cells, { minCellSize: 5 }).suppressed).toBe(0);
  });
});
