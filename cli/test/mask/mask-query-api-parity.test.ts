import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readCsv } from '@medfed/node-agent/masking/index';
import { runMask } from '../../src/commands/mask.js';
import { OPTED_OUT, patients, startFixture, type Fixture } from '../../../node-agent/test/query-api/support.js';

/** `medfed mask` previews exactly what the local query API answers: both go through maskRecords. */
describe('medfed mask and the local query API share one masking path', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture();
  });
  afterAll(async () => {
    await f?.api.close();
    if (f) await rm(f.dir, { recursive: true, force: true });
  });

  const preview = async (role: string, extra: { clinician?: string; study?: string } = {}) => {
    const out = join(f.dir, `${role}.csv`);
    const quiet = { stdout: () => undefined, stderr: () => undefined };
    const code = await runMask({
      data: join(f.dir, 'patients.csv'), schema: join(f.dir, 'schema.json'), policy: join(f.dir, 'policy.json'), stateDir: f.stateDir, role, out, ...extra,
    }, quiet);
    expect(code).toBe(0);
    return readCsv(await readFile(out, 'utf8')).records;
  };

  it("gives a clinician the same own patients, opted-out patient excluded, in the preview and the API", async () => {
    const api = await f.get('/v1/records', await f.token({ sub: 'dr-a', groups: 'medfed-clinicians' }));
    const previewed = await preview('clinician', { clinician: 'dr-a' });
    expect(previewed.map((r) => r.mrn).sort()).toEqual(api.json.records.map((r: { mrn: string }) => r.mrn).sort());
    expect(previewed.map((r) => r.mrn)).not.toContain(patients[OPTED_OUT]!.mrn);
    expect(previewed.length).toBeGreaterThan(5);
  });

  it('refuses the same researcher view in the preview and the API, and pseudonymises record numbers in both', async () => {
    const researcher = await f.token({ sub: 'r', groups: 'medfed-research' });
    // This site's policy grants researchers names in clear: the de-identification rails refuse that in both.
    const quiet = { stdout: () => undefined, stderr: () => undefined };
    const refused = await runMask({ data: join(f.dir, 'patients.csv'), schema: join(f.dir, 'schema.json'), policy: join(f.dir, 'policy.json'), stateDir: f.stateDir, role: 'researcher', study: 'S-1', out: join(f.dir, 'r.csv') }, quiet);
    expect(refused).toBe(8);
    expect((await f.get('/v1/records?select=name', researcher)).json.code).toBe('MASK_DIRECT_IDENTIFIER');
    const api = await f.post('/v1/records/query', { select: ['mrn', 'lactate'], study: 'S-1' }, researcher);
    expect(api.status).toBe(200);
    const pseudonyms = new Set(api.json.records.map((r: { mrn: string }) => r.mrn));
    expect(pseudonyms.size).toBe(patients.length - 1);
    for (const p of pseudonyms) expect(String(p)).not.toMatch(/^MRN-/);
  });
});
