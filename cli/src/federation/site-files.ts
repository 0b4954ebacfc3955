import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { partition, stratifiedSplit, writeCsv, type PartitionScheme } from '../simulate/index.js';
import type { LocalSite } from './local-federation.js';

export interface SplitTable {
  readonly header: string[];
  readonly rows: string[][];
}

export interface SiteSplit {
  readonly sites: LocalSite[];
  readonly trainRows: number[];
  readonly testRows: number[];
}

export const EVALUATOR_ID = 'evaluator';

/**
 * Splits one table into a stratified held-out test set (given to an evaluator site, never trained
 * on) and K training sites dealt by the partition scheme; writes one CSV per site, identifiers included,
 * exactly as a hospital would hold its own records.
 */
export async function writeSiteFiles(table: SplitTable, options: {
  dir: string; label: string; sites: number; scheme: PartitionScheme | string; seed: number; testFraction: number;
}): Promise<SiteSplit> {
  const labelIndex = table.header.indexOf(options.label);
  const labels = table.rows.map((r) => (r[labelIndex] ?? '').trim());
  const { train, test } = stratifiedSplit(labels, options.testFraction, options.seed);
  const columns: Record<string, string[]> = {};
  table.header.forEach((name, i) => { columns[name] = train.map((row) => table.rows[row]![i] ?? ''); });
  const parts = partition({ labels: train.map((i) => labels[i]!), columns }, options.sites, options.scheme, options.seed);
  const sites: LocalSite[] = [];
  for (const [k, part] of parts.entries()) {
    const id = `site-${String.fromCharCode(97 + (k % 26))}${k >= 26 ? Math.floor(k / 26) : ''}`;
    const dir = join(options.dir, id);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const csv = join(dir, 'data.csv');
    await writeCsv(csv, { header: table.header, rows: part.map((i) => table.rows[train[i]!]!) });
    sites.push({ id, csv, role: 'trainer' });
  }
  const evalDir = join(options.dir, EVALUATOR_ID);
  await mkdir(evalDir, { recursive: true, mode: 0o700 });
  const evalCsv = join(evalDir, 'data.csv');
  await writeCsv(evalCsv, { header: table.header, rows: test.map((i) => table.rows[i]!) });
  sites.push({ id: EVALUATOR_ID, csv: evalCsv, role: 'evaluator' });
  return { sites, trainRows: train, testRows: test };
}
