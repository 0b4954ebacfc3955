import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAgentConfig } from '../../src/config/load.js';
import { loadStatsInputs, maskingFilesOf } from '../../src/statistics/site-inputs.js';

/** Where a site's statistics masking schema and policy come from: the data-level settings, then the query API's. */
describe('statistics masking files', () => {
  let dir: string;
  const declared = (name: string) => ({ patientIdField: 'mrn', fields: [
    { name: 'mrn', type: 'string', class: 'direct-identifier', identifier: 'medical-record-number', defaultTransform: 'pseudonymize' },
    { name, type: 'number', class: 'clinical' },
  ] });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'medfed-stats-inputs-'));
    await writeFile(join(dir, 'data.csv'), ['mrn,age,weight', ...Array.from({ length: 5 }, (_, i) => `MRN${i},${40 + i},${70 + i}`)].join('\n'));
    await writeFile(join(dir, 'data-schema.json'), JSON.stringify(declared('age')));
    await writeFile(join(dir, 'api-schema.json'), JSON.stringify(declared('weight')));
  });

  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  const config = (overrides: Record<string, unknown>) => loadAgentConfig({ env: {}, overrides: {
    siteId: 'site-a', 'coordinator.grpc': '127.0.0.1:1', 'data.csv': join(dir, 'data.csv'), 'data.label': 'age', ...overrides,
  } });
  const fieldsUnder = async (overrides: Record<string, unknown>) => {
    const c = await config(overrides);
    const { schema } = await loadStatsInputs('site-a', { csvPath: c.data.csv, ...maskingFilesOf(c.data, c.queryApi) });
    return schema.fields.map((f) => f.name);
  };

  it('reads the data-level schema without any query API section', async () => {
    const c = await config({ 'data.maskingSchema': join(dir, 'data-schema.json'), 'data.maskingPolicy': join(dir, 'policy.json') });
    expect(c.queryApi).toBeUndefined();
    expect(maskingFilesOf(c.data, c.queryApi)).toEqual({ maskingSchemaPath: join(dir, 'data-schema.json'), maskingPolicyPath: join(dir, 'policy.json') });
    expect(await fieldsUnder({ 'data.maskingSchema': join(dir, 'data-schema.json') })).toEqual(['mrn', 'age']);
  });

  it('prefers the data-level files to the query API settings, each falling back on its own', async () => {
    expect(await fieldsUnder({ 'data.maskingSchema': join(dir, 'data-schema.json'), 'queryApi.port': 0, 'queryApi.schema': join(dir, 'api-schema.json') }))
      .toEqual(['mrn', 'age']);
    expect(await fieldsUnder({ 'queryApi.port': 0, 'queryApi.schema': join(dir, 'api-schema.json') })).toEqual(['mrn', 'weight']);
    expect(maskingFilesOf({ maskingSchema: 'a.json' }, { schema: 'b.json', policy: 'p.json' })).toEqual({ maskingSchemaPath: 'a.json', maskingPolicyPath: 'p.json' });
  });

  it('infers the schema from the columns when neither is set', async () => {
    expect(maskingFilesOf({}, undefined)).toEqual({ maskingSchemaPath: undefined, maskingPolicyPath: undefined });
    expect((await fieldsUnder({})).sort()).toEqual(['age', 'mrn', 'weight']);
  });
});
