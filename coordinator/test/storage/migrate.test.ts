import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BACKENDS, freshDatabase, type TestDb } from '../support/databases.js';
import { migrate } from '../../src/storage/migrate.js';

describe.each(BACKENDS)('migrations on %s', (backend) => {
  let t: TestDb;
  beforeAll(async () => { t = await freshDatabase(backend); });
  afterAll(async () => { await t.drop(); });

  it('creates the core tables and is idempotent', async () => {
    const { rows } = await t.db.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name");
    const names = rows.map((r) => r.table_name);
    for (const table of ['sites', 'jobs', 'rounds', 'contributions', 'models', 'metrics', 'site_tasks']) {
      expect(names).toContain(table);
    }
    const again = await migrate(t.db);
    expect(again.version).toBeGreaterThanOrEqual(1);
  });

  it('rolls a failed transaction back completely', async () => {
    await expect(t.db.transaction(async (tx) => {
      await tx.query("INSERT INTO sites (id, display_name) VALUES ('site-x', 'X')");
      await tx.query("INSERT INTO sites (id, display_name) VALUES ('BAD ID', 'Y')");
    })).rejects.toThrow();
    const { rows } = await t.db.query("SELECT id FROM sites WHERE id = 'site-x'");
    expect(rows).toHaveLength(0);
  });
});
