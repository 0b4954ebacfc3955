import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadDataset, loadSiteRecords, optOutPath, prepareForJob, readOptOut } from '../../src/data/index.js';
import { scratch } from './files.js';
import { job } from './job.js';

/** 30 patients; patient P-017 has a BMI nobody else has, so its presence in any output is detectable. */
const rows = Array.from({ length: 30 }, (_, i) => ({
  mrn: `P-${String(i).padStart(3, '0')}`,
  age: 40 + i,
  bmi: i === 17 ? 77.7 : 20 + (i % 9),
  outcome: ['low', 'medium', 'high'][i % 3]!,
}));
const CSV = `mrn,age,bmi,outcome\n${rows.map((r) => `${r.mrn},${r.age},${r.bmi},${r.outcome}`).join('\n')}\n`;

let files: Awaited<ReturnType<typeof scratch>>;
let csv: string;
beforeAll(async () => {
  files = await scratch();
  csv = await files.file('site.csv', CSV);
});
afterAll(async () => files.remove());

describe('the opt-out list in the data layer', () => {
  it('keeps an opted-out patient out of the dataset and of the matrix the trainer receives', async () => {
    const list = await files.file('opt-out.txt', '# consent withdrawn 2026-11\nP-017\n\nP-004  # by phone\n');
    const optOut = await readOptOut(list);
    const dataset = await loadDataset(csv, { label: 'outcome', optOut });
    expect(dataset.rowCount).toBe(rows.length - 2);
    expect(dataset.optedOutExcluded).toBe(2);
    const prepared = prepareForJob(dataset, job());
    expect(prepared.n).toBe(rows.length - 2);
    expect([...prepared.x]).not.toContainEqual(Math.fround(77.7));
    expect([...prepared.x]).not.toContainEqual(Math.fround(rows[4]!.age));
    const everyone = prepareForJob(await loadDataset(csv, { label: 'outcome' }), job());
    expect(everyone.n).toBe(rows.length);
    expect([...everyone.x]).toContainEqual(Math.fround(77.7));
  });

  it('gives the masking layer (query API, statistics) the same rows without the opted-out patients', async () => {
    const optOut = await readOptOut(await files.file('opt-out-2.txt', 'P-017\n'));
    const { records, excluded } = await loadSiteRecords(csv, optOut);
    expect(excluded).toBe(1);
    expect(records.map((r) => r.mrn)).not.toContain('P-017');
    expect(records).toHaveLength(rows.length - 1);
  });

  it('refuses to load anything when patients opted out but no patient id column can be found', async () => {
    const noId = await files.file('no-id.csv', CSV.replace('mrn,', 'code,'));
    const optOut = await readOptOut(await files.file('opt-out-3.txt', 'P-017\n'));
    await expect(loadDataset(noId, { label: 'outcome', optOut })).rejects.toMatchObject({ code: 'MASK_OPT_OUT_UNRESOLVABLE' });
    const configured = await loadDataset(noId, { label: 'outcome', optOut: { ...optOut, patientIdColumn: 'code' } });
    expect(configured.rowCount).toBe(rows.length - 1);
  });

  it('reads a missing list as nobody opted out, at the state dir default path', async () => {
    const missing = await readOptOut(optOutPath('/nonexistent-state'));
    expect(missing.ids.size).toBe(0);
    expect(missing.version).toBe('absent');
    expect(optOutPath('/s', 'lists/opt-out.txt')).toBe('/s/lists/opt-out.txt');
  });
});
