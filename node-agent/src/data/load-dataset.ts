import { datasetFromRows } from './dataset-from-rows.js';
import { checkDroppedShare } from './dropped-rows.js';
import { excludeOptedOutRows, type OptOut } from './opt-out.js';
import { readCsv } from './read-csv.js';
import { readSchemaFile } from './schema-file.js';
import type { LocalDataset } from './types.js';

export interface LoadDatasetOptions {
  /** The label column; may be omitted when the schema file names it. */
  readonly label?: string;
  /** JSON or YAML schema; without it types and roles are inferred. */
  readonly schemaPath?: string;
  /** The site's opt-out list: those patients' rows are dropped before anything is typed or kept. */
  readonly optOut?: OptOut;
  /**
   * Most share of rows (0..1) a job may drop (label or a job feature missing or unparsable) before
   * the site refuses it; the agent passes `data.maxDroppedShare`. Default DEFAULT_MAX_DROPPED_SHARE.
   */
  readonly maxDroppedShare?: number;
}

/**
 * Reads, validates and types a site's CSV file. Rows of opted-out patients are dropped first, and
 * identifier values are dropped before returning: every task that gets its rows from here (training,
 * evaluation, statistics) never sees those patients.
 */
export async function loadDataset(csvPath: string, options: LoadDatasetOptions): Promise<LocalDataset> {
  if (options.maxDroppedShare !== undefined) checkDroppedShare(options.maxDroppedShare);
  const schema = options.schemaPath === undefined ? undefined : await readSchemaFile(options.schemaPath);
  const table = await readCsv(csvPath);
  const { rows, kept, excluded } = excludeOptedOutRows(table.header, table.rows, options.optOut);
  const lineNumbers = kept.map((i) => table.lineNumbers[i]!);
  const dataset = datasetFromRows(table.header, rows, { label: options.label, schema, source: csvPath, lineNumbers });
  return {
    ...dataset, optedOutExcluded: excluded,
    ...(options.maxDroppedShare === undefined ? {} : { maxDroppedShare: options.maxDroppedShare }),
  };
}
