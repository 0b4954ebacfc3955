import { readFile } from 'node:fs/promises';
import { defaultSitePolicy, inferSchema, loadSitePolicy, MaskingError, parseSchema, type DatasetSchema, type SitePolicy } from '../masking/index.js';
import { loadSiteRecords } from '../data/site-records.js';
import type { OptOut } from '../data/opt-out.js';

export interface StatsSiteInputs {
  readonly csvPath: string;
  /** The steward's masking schema and policy (see maskingFilesOf); defaults when absent. */
  readonly maskingSchemaPath?: string | undefined;
  readonly maskingPolicyPath?: string | undefined;
  readonly optOut?: OptOut | undefined;
}

/**
 * Where the statistics masking schema and policy come from: the data-level settings
 * (`data.maskingSchema`, `data.maskingPolicy`), each falling back to the local query API's
 * (`queryApi.schema`, `queryApi.policy`) so a site configured before the data-level settings keeps
 * answering under the same files. Statistics never need the query API enabled.
 */
export function maskingFilesOf(
  data: { readonly maskingSchema?: string | undefined; readonly maskingPolicy?: string | undefined },
  queryApi?: { readonly schema?: string | undefined; readonly policy?: string | undefined } | undefined,
): { maskingSchemaPath: string | undefined; maskingPolicyPath: string | undefined } {
  return { maskingSchemaPath: data.maskingSchema ?? queryApi?.schema, maskingPolicyPath: data.maskingPolicy ?? queryApi?.policy };
}

/** The site's rows (opted-out patients removed), masking schema and policy, read fresh for each query. */
export async function loadStatsInputs(siteId: string, inputs: StatsSiteInputs): Promise<{ records: Record<string, string>[]; schema: DatasetSchema; policy: SitePolicy }> {
  const { columns, records } = await loadSiteRecords(inputs.csvPath, inputs.optOut);
  let schema: DatasetSchema;
  if (inputs.maskingSchemaPath) {
    let value: unknown;
    try {
      value = JSON.parse(await readFile(inputs.maskingSchemaPath, 'utf8'));
    } catch (err) {
      throw new MaskingError('MASK_INVALID_SCHEMA', `cannot read the masking schema ${inputs.maskingSchemaPath}: ${(err as Error).message}`);
    }
    schema = parseSchema(value, inputs.maskingSchemaPath);
  } else {
    schema = inferSchema(columns, records).schema;
  }
  const policy = inputs.maskingPolicyPath ? await loadSitePolicy(inputs.maskingPolicyPath) : defaultSitePolicy(siteId);
  return { records, schema, policy };
}
