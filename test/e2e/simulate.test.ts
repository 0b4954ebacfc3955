import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateClinicalDataset, writeCsv } from '../../cli/src/simulate/index.js';
import { freshDatabase, type TestDb } from '../../coordinator/test/support/databases.js';
import { runCli } from '../support/cli.js';

interface SimulateJson {
  sites: number; test_size: number; train_size: number; encrypted: boolean;
  strategy: { name: string; parameters: Record<string, number> };
  rounds: { round: number; loss: number; accuracy: number; params_sha256: string | null }[];
  federated: { accuracy: number; loss: number };
  centralized: { accuracy: number; loss: number };
  release: { id: string; sha256: string; decrypting_site: string | null; countersigning_site: string | null } | null;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

describe('medfed simulate', () => {
  const encryptedRuns = new Map<string, SimulateJson>();
  let dir: string;
  let cohort: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'medfed-sim-'));
    cohort = join(dir, 'cohort.csv');
    await writeCsv(cohort, generateClinicalDataset(3000, 11));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['iid', 0.02],
    ['dirichlet:0.5', 0.05],
  ])('on a %s split, federated accuracy stays within the bound of the centralised baseline', async (partition, bound) => {
    const run = await runCli(['simulate', '--data', cohort, '--label', 'risk', '--sites', '3', '--partition', partition,
      '--seed', '3', '--json'], { timeoutMs: 400_000 });
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(1); // exactly one JSON object on stdout
    const result = JSON.parse(lines[0]!) as SimulateJson;
    expect(result.sites).toBe(3);
    expect(result.encrypted).toBe(true); // encryption is the default
    expect(result.test_size + result.train_size).toBe(3000);
    expect(Math.abs(result.test_size - 600)).toBeLessThanOrEqual(3); // a stratified 20% (rounded per class)
    expect(result.rounds.map((r) => r.round)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1)); // the default: 30 rounds
    for (const r of result.rounds) {
      expect(r.accuracy).toBeGreaterThanOrEqual(0);
      expect(r.accuracy).toBeLessThanOrEqual(1);
    }
    expect(result.federated.accuracy).toBe(result.rounds.at(-1)!.accuracy);
    // The final model is released by development identities: decrypted by one site, reproduced by another.
    expect(result.release?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(result.release?.decrypting_site).toEqual(expect.any(String));
    expect(result.release?.countersigning_site).toEqual(expect.any(String));
    expect(result.release?.countersigning_site).not.toBe(result.release?.decrypting_site);
    expect(result.centralized.accuracy).toBeGreaterThan(0.6); // the data carry signal; a broken baseline would not
    expect(result.centralized.accuracy - result.federated.accuracy).toBeLessThanOrEqual(bound);
    encryptedRuns.set(partition, result);
  }, 450_000);

  it('reaches the same accuracy encrypted as with --plaintext on the same seed (within 1 point)', async () => {
    const encrypted = encryptedRuns.get('iid');
    expect(encrypted).toBeDefined();
    const run = await runCli(['simulate', '--data', cohort, '--label', 'risk', '--sites', '3', '--partition', 'iid',
      '--seed', '3', '--json', '--plaintext'], { timeoutMs: 400_000 });
    expect(run.code).toBe(0);
    const plain = JSON.parse(run.stdout) as SimulateJson;
    expect(plain.encrypted).toBe(false);
    expect(plain.release?.decrypting_site).toBeNull(); // a plaintext job's model needs no decryption to release
    expect(Math.abs(encrypted!.federated.accuracy - plain.federated.accuracy)).toBeLessThanOrEqual(0.01);
  }, 450_000);

  describe('a CSV with string labels and an identifier column', () => {
    let db: TestDb;
    beforeAll(async () => { db = await freshDatabase('postgres', { migrate: false }); });
    afterAll(async () => { await db.drop(); });

    it('trains, and no identifier reaches anything the coordinator stores or logs', async () => {
      const table = generateClinicalDataset(900, 5);
      const ids = table.rows.map((_, i) => `MRN-${(0x5a17c0 + i * 7919).toString(16)}-${String(i).padStart(5, '0')}`);
      const header = ['record_id', ...table.header.filter((h) => h !== 'patient_id')];
      const pid = table.header.indexOf('patient_id');
      const rows = table.rows.map((r, i) => [ids[i]!, ...r.filter((_, j) => j !== pid)]);
      const csv = join(dir, 'with-ids.csv');
      await writeCsv(csv, { header, rows });
      const work = join(dir, 'work');
      const run = await runCli(['simulate', '--data', csv, '--label', 'risk', '--sites', '3', '--rounds', '2', '--json',
        '--work-dir', work, '--database-url', db.url!]);
      expect(run.code).toBe(0);
      const result = JSON.parse(run.stdout) as SimulateJson;
      expect(result.federated.accuracy).toBeGreaterThan(0.4);
      expect(result.strategy).toEqual({ name: 'fedavg', parameters: {} }); // the default
      // Every round reports the digest of the model its sites agreed on.
      for (const r of result.rounds) expect(r.params_sha256).toMatch(/^[0-9a-f]{64}$/);

      const { rows: tables } = await db.db.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
      let stored = '';
      for (const { tablename } of tables) {
        const { rows: content } = await db.db.query<{ r: string }>(`SELECT row_to_json(t)::text AS r FROM "${tablename}" t`);
        stored += content.map((c) => c.r).join('\n');
      }
      expect(stored).toContain('"risk"'); // the job spec is there: the scan reads real content
      expect(stored).not.toContain('record_id');
      // On PostgreSQL the payloads are rows of blob_chunks: scanned as raw bytes, with every file the coordinator wrote.
      const { rows: chunks } = await db.db.query<{ key: string; data: Buffer }>('SELECT key, data FROM blob_chunks ORDER BY key, seq');
      expect(chunks.some((c) => c.key.startsWith('updates/'))).toBe(true);
      const coordinatorFiles = await filesUnder(join(work, 'coordinator'));
      const blobs = [...chunks.map((c) => c.data), ...await Promise.all(coordinatorFiles.map((f) => readFile(f)))];
      for (const id of [ids[0]!, ids[1]!, ids[450]!, ids[899]!]) {
        expect(stored).not.toContain(id);
        for (const b of blobs) expect(b.includes(Buffer.from(id))).toBe(false);
      }
    }, 180_000);
  });

  it('refuses a strategy parameter the strategy does not have before anything starts', async () => {
    const work = join(dir, 'bad-strategy-work');
    const run = await runCli(['simulate', '--data', cohort, '--label', 'risk', '--strategy', 'fedprox', '--server-lr', '0.1',
      '--work-dir', work, '--json']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/STRATEGY_SETTINGS_INVALID: --server-lr: strategy fedprox has no server learning rate/);
    await expect(readdir(work)).rejects.toThrow(); // refused before the work dir was made
  });

  it.each([
    ['a malformed CSV', 'id,a,b,risk\n1,2,3,low\n4,"5,6,high\n', 'risk', /DATA_CSV_MALFORMED/],
    ['a missing label column', 'id,a,b,outcome\n1,2,3,low\n4,5,6,high\n', 'risk', /DATA_LABEL_MISSING.*outcome/],
  ])('refuses %s with a clear error and writes nothing', async (_what, content, label, pattern) => {
    const csv = join(dir, `bad-${label}-${content.length}.csv`);
    await writeFile(csv, content);
    const work = join(dir, `bad-work-${content.length}`);
    const run = await runCli(['simulate', '--data', csv, '--label', label, '--work-dir', work, '--json']);
    expect(run.code).toBe(4); // ExitCode.DATA
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(pattern);
    await expect(readdir(work)).rejects.toThrow(); // nothing half-written
  });
});
