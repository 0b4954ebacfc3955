import { datasetFromRows } from './dataset-from-rows.js';
import { readCsv } from './read-csv.js';
import { readSchemaFile } from './schema-file.js';
import type { LocalDataset } from './types.js';

export interface LoadDatasetOptions {
  /** The label column; may be omitted when the schema file names it. */
  readonly label?: string;
  /** JSON or YAML schema; without it types and roles are inferred. */
  readonly schemaPath?: string;
}

/** Reads, validates and types a site's CSV file. Identifier values are dropped before returning. */
export async function loadDataset(csvPath: string, options: LoadDatasetOptions): Promise<LocalDataset> {
  const schema = options.schemaPath === undefined ? undefined : await readSchemaFile(options.schemaPath);
  const table = await readCsv(csvPath);
  return datasetFromRows(table.header, table.rows, { label: options.label, schema, source: csvPath, lineNumbers: table.lineNumbers });
}
