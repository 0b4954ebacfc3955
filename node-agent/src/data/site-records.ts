import { readFile } from 'node:fs/promises';
import { readCsv as readTable } from '../masking/csv.js';
import { excludeOptedOutRows, type OptOut } from './opt-out.js';

/**
 * The site's rows as text records, opted-out patients already removed: the input of the masking
 * layer (local query API, statistics). Identifier values are still here; only masking may release
 * anything from them.
 */
export async function loadSiteRecords(csvPath: string, optOut: OptOut | undefined): Promise<{ columns: readonly string[]; records: Record<string, string>[]; excluded: number }> {
  const table = readTable(await readFile(csvPath), csvPath);
  const rows = table.records.map((r) => table.columns.map((c) => r[c] ?? ''));
  const { kept, excluded } = excludeOptedOutRows(table.columns, rows, optOut);
  return { columns: table.columns, records: kept.map((i) => table.records[i]!), excluded };
}
