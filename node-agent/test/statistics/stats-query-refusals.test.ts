import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { runStatsQueryTask, type StatsQueryContext } from '../../src/tasks/stats-query-task.js';
import { PrivacyLedger } from '../../src/privacy/index.js';

/**
 * A site's refusals happen before it computes or spends anything: these run the real task up to its
 * refusal (no coordinator is reached; a refused query never gets that far).
 */
describe('a site refuses a statistics query before computing', () => {
  let dir: string;
  const header = 'mrn,name,dob,zip,ward,age,sbp';
  const rows = Array.from({ length: 30 }, (_, i) => `MRN${i},Pat ${i},1970-01-0${(i % 9) + 1},0213${i % 10},${i % 2 ? 'A' : 'B'},${40 + i},${110 + i}`);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'medfed-stats-site-'));
    await writeFile(join(dir, 'data.csv'), [header, ...rows].join('\n'));
    await writeFile(join(dir, 'schema.json'), JSON.stringify({ patientIdField: 'mrn', fields: [
      { name: 'mrn', type: 'string', class: 'direct-identifier', identifier: 'medical-record-number', defaultTransform: 'pseudonymize' },
      { name: 'name', type: 'string', class: 'direct-identifier', identifier: 'name', defaultTransform: 'redact' },
      { name: 'dob', type: 'date', class: 'quasi-identifier', identifier: 'date', generalization: 'birth-year', defaultTransform: 'generalize' },
      { name: 'zip', type: 'string', class: 'quasi-identifier', identifier: 'zip', generalization: 'zip', defaultTransform: 'generalize' },
      { name: 'ward', type: 'category', class: 'clinical' },
      { name: 'age', type: 'integer', class: 'quasi-identifier', identifier: 'age', generalization: 'age', defaultTransform: 'generalize' },
      { name: 'sbp', type: 'integer', class: 'clinical' },
    ] }));
  });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  async function refusal(query: Record<string, unknown>, policy?: Record<string, unknown>, budget = 10): Promise<{ code?: string; message: string }> {
    const policyPath = policy ? join(dir, `policy-${Math.random()}.json`) : undefined;
    if (policyPath) await writeFile(policyPath, JSON.stringify({ siteId: 'site-a', ...policy }));
    const ctx = {
      siteId: 'site-a', log: pino({ level: 'silent' }), stateDir: dir, task: { jobId: 'job-1', round: 0, encryptionJson: '' },
      spec: { statistics: { name: 'q', sites: ['site-a'], ...query } }, privacy: { dataset: 'refusals', budgetEpsilon: budget, budgetDelta: 1e-5 },
      statsInputs: { csvPath: join(dir, 'data.csv'), maskingSchemaPath: join(dir, 'schema.json'), maskingPolicyPath: policyPath },
      client: { submitUpdate: () => { throw new Error('a refused query must not reach the coordinator'); } },
    } as unknown as StatsQueryContext;
    try {
      await runStatsQueryTask(ctx);
    } catch (err) {
      return err as { code?: string; message: string };
    }
    throw new Error('not refused');
  }

  it('a field redacted for researchers (a direct identifier by default)', async () => {
    const e = await refusal({ groupBy: [{ field: 'name', categories: ['Pat 1'] }] });
    expect(e.code).toBe('MASK_FIELD_NOT_VISIBLE');
    expect(e.message).toContain('"name"');
  });

  it('a direct identifier a lax policy would show in full', async () => {
    const e = await refusal({ groupBy: [{ field: 'name', categories: ['Pat 1'] }] }, { roles: { researcher: { fields: { name: 'full' } } } });
    expect(e.code).toBe('MASK_DIRECT_IDENTIFIER');
  });

  it('an exact quasi-identifier combination', async () => {
    const e = await refusal({ groupBy: [{ field: 'dob', categories: ['1970-01-01'] }, { field: 'zip', categories: ['02130'] }] },
      { roles: { researcher: { fields: { dob: 'full', zip: 'full' } } } });
    expect(e.code).toBe('MASK_QUASI_IDENTIFIER_COMBINATION');
  });

  it('aggregating a field researchers only see coarsened', async () => {
    const e = await refusal({ fields: [{ name: 'age', lower: 0, upper: 120 }], statistics: ['mean'] });
    expect(e.code).toBe('MASK_FIELD_NOT_VISIBLE');
    expect(e.message).toContain('generalize');
  });

  it('a minimum cell size below the site policy', async () => {
    const e = await refusal({ minCellSize: 5 }, { minCellSize: 20 });
    expect(e.code).toBe('MASK_SMALL_CELL');
  });

  it('a DP query over the remaining budget, with nothing spent', async () => {
    const e = await refusal({ groupBy: [{ field: 'ward', categories: ['A', 'B'] }], dp: { epsilon: 2, mechanism: 'laplace' } }, undefined, 1);
    expect(e.code).toBe('PRIVACY_BUDGET_EXCEEDED');
    expect((await new PrivacyLedger({ stateDir: dir, dataset: 'refusals' }).read()).spent.epsilon).toBe(0);
  });
});
