import { readFile } from 'node:fs/promises';
import {
  checkQuery, defaultSitePolicy, inferSchema, loadOrCreatePseudonymKey, loadSitePolicy, maskRecords, MaskingError, parseSchema, planMasking,
  runMaskedQuery, type Cell, type DatasetSchema, type MaskedColumn, type MaskQuery, type ReleasedCell, type SitePolicy, type TransformName,
} from '../masking/index.js';
import { loadSiteRecords, readOptOut } from '../data/index.js';
import { PrivacyLedger } from '../privacy/ledger/index.js';
import type { QueryRole } from './config.js';
import { QueryApiError } from './errors.js';
import type { Caller } from './identity/caller.js';

export interface QueryServiceOptions {
  readonly siteId: string;
  readonly csv: string;
  readonly stateDir: string;
  readonly optOutFile: string;
  readonly patientIdColumn?: string | undefined;
  readonly schemaPath?: string | undefined;
  readonly policyPath?: string | undefined;
  readonly privacy: { readonly dataset: string; readonly budgetEpsilon: number; readonly budgetDelta: number };
  readonly maxRecords: number;
}

export interface RecordsQuery {
  readonly select?: readonly string[];
  readonly where?: readonly { readonly field: string; readonly equals: Cell }[];
  readonly orderBy?: readonly { readonly field: string; readonly direction?: 'asc' | 'desc' }[];
  readonly study?: string;
  readonly limit?: number;
  readonly offset?: number;
}

export interface AggregatesQuery {
  readonly groupBy: readonly string[];
  readonly where?: readonly { readonly field: string; readonly equals: Cell }[];
  readonly stats?: readonly string[];
  readonly study?: string;
  readonly onSmallCell?: 'suppress' | 'refuse';
}

/** What a request used and what it cost, for the access log. */
export interface Usage {
  readonly fields: readonly string[];
  readonly rows: number;
  readonly epsilon: number;
}

interface SiteView {
  readonly records: Record<string, string>[];
  readonly schema: DatasetSchema;
  readonly policy: SitePolicy;
}

/** Statistics per group: no minimum or maximum, which would release one patient's exact value. */
export interface FieldStats {
  readonly n: number;
  readonly mean: number | null;
  readonly sd: number | null;
}

/**
 * The query API's one path to the data: site records minus opt-outs, then the masking library's
 * checkQuery, maskRecords and runMaskedQuery (the maskRecords behind `medfed mask`), for the
 * caller's role. Fields a query does not use are requested redacted, so they are neither
 * released nor charged to the privacy budget.
 */
export class QueryService {
  readonly #options: QueryServiceOptions;

  constructor(options: QueryServiceOptions) {
    this.#options = options;
  }

  async schema(caller: Caller): Promise<{ site: string; role: QueryRole; minCellSize: number; fields: { name: string; type: string; class: string; transform: TransformName | 'metadata' }[] }> {
    const { schema, policy } = await this.#view();
    const plan = planMasking(schema, policy, { role: caller.role, enforceRails: false });
    return {
      site: this.#options.siteId,
      role: caller.role,
      minCellSize: policy.minCellSize,
      fields: plan.fields.map((p) => ({ name: p.field.name, type: p.field.type, class: p.field.class, transform: caller.role === 'auditor' ? 'metadata' : p.transform })),
    };
  }

  async records(caller: Caller, request: RecordsQuery): Promise<{ body: { role: QueryRole; total: number; records: Record<string, Cell>[]; columns: readonly MaskedColumn[] }; usage: Usage }> {
    const view = await this.#view();
    const query: MaskQuery = {
      ...(request.select === undefined ? {} : { select: request.select }),
      ...(request.where === undefined ? {} : { where: request.where }),
      ...(request.orderBy === undefined ? {} : { orderBy: request.orderBy }),
    };
    const used = fieldsOf(query, view.schema);
    const { result, epsilon } = await this.#mask(caller, view, query, used, request.study, 'records');
    const out = runMaskedQuery(result, query, { role: caller.role, minCellSize: view.policy.minCellSize });
    if (out.kind !== 'records') throw new QueryApiError('QUERY_INVALID', 'a records query has no groupBy');
    const offset = request.offset ?? 0;
    const limit = request.limit ?? this.#options.maxRecords;
    if (limit > this.#options.maxRecords) throw new QueryApiError('QUERY_INVALID', `limit may be at most ${this.#options.maxRecords}`);
    const page = out.records.slice(offset, offset + limit);
    if (request.limit === undefined && out.records.length - offset > limit) {
      throw new QueryApiError('QUERY_TOO_MANY_RECORDS', `the result has ${out.records.length} records, more than ${limit}; narrow it or page with limit and offset`);
    }
    const columns = caller.role === 'auditor' ? result.columns : result.columns.filter((c) => page.length === 0 || c.name in (page[0] ?? {}));
    return { body: { role: caller.role, total: out.records.length, records: page, columns }, usage: { fields: used, rows: page.length, epsilon } };
  }

  async aggregates(caller: Caller, request: AggregatesQuery): Promise<{ body: { role: QueryRole; minCellSize: number; suppressed: number; cells: (ReleasedCell & { stats?: Record<string, FieldStats> })[] }; usage: Usage }> {
    const view = await this.#view();
    const stats = [...new Set(request.stats ?? [])];
    for (const name of stats) {
      const field = view.schema.fields.find((f) => f.name === name);
      if (field !== undefined && field.type !== 'integer' && field.type !== 'number') {
        throw new QueryApiError('QUERY_INVALID', `stats field "${name}" is not numeric (${field.type})`);
      }
    }
    const groupBy = [...request.groupBy];
    // Statistics fields are returned values too: they pass the same visibility and de-identification checks.
    const check: MaskQuery = { groupBy, select: [...groupBy, ...stats], ...(request.where === undefined ? {} : { where: request.where }) };
    const used = fieldsOf(check, view.schema);
    const { result, epsilon } = await this.#mask(caller, view, check, used, request.study, 'aggregates');
    const counts = runMaskedQuery(result, { groupBy, ...(request.where === undefined ? {} : { where: request.where }) }, { role: caller.role, minCellSize: view.policy.minCellSize });
    if (counts.kind !== 'counts') throw new QueryApiError('QUERY_INVALID', 'an aggregates query needs groupBy');
    if (request.onSmallCell === 'refuse' && counts.suppressed > 0) {
      throw new MaskingError(
        'MASK_SMALL_CELL',
        `${counts.suppressed} of ${counts.cells.length} cells would describe fewer than ${view.policy.minCellSize} patients; widen the groups or drop a grouping field`,
        { minCellSize: view.policy.minCellSize, smallCells: counts.suppressed },
      );
    }
    const matched = result.records.filter((r) => (request.where ?? []).every((w) => sameCell(r[w.field] ?? null, w.equals)));
    const guarded = caller.role === 'researcher' || caller.role === 'auditor';
    const cells = counts.cells.map((cell) => {
      if (cell.suppressed || stats.length === 0) return cell;
      const members = matched.filter((r) => groupBy.every((g) => sameCell(r[g] ?? null, cell.key[g] ?? null)));
      return { ...cell, stats: Object.fromEntries(stats.map((s) => [s, statsOf(members.map((r) => r[s] ?? null), guarded ? view.policy.minCellSize : 1)])) };
    });
    return {
      body: { role: caller.role, minCellSize: view.policy.minCellSize, suppressed: counts.suppressed, cells },
      usage: { fields: used, rows: cells.length, epsilon },
    };
  }

  async #mask(caller: Caller, view: SiteView, query: MaskQuery, used: readonly string[], study: string | undefined, route: string) {
    const role = caller.role;
    checkQuery(query, view.schema, view.policy, { role });
    const inUse = new Set(used);
    // Clinicians and stewards see whole records: every field is in use when none is selected.
    const requested: Record<string, TransformName> = query.select === undefined && query.groupBy === undefined
      ? {}
      : Object.fromEntries(view.schema.fields.filter((f) => !inUse.has(f.name)).map((f) => [f.name, 'redact' as const]));
    const plan = planMasking(view.schema, view.policy, { role, requested, enforceRails: false });
    const pseudonymised = plan.fields.some((p) => p.transform === 'pseudonymize');
    const noised = plan.fields.some((p) => p.transform === 'noise');
    const ledger = noised ? await this.#ledger() : undefined;
    const result = await maskRecords(view.records, view.schema, view.policy, {
      role,
      site: this.#options.siteId,
      ...(role === 'clinician' ? { clinicianId: caller.userId } : {}),
      requested,
      // The data layer removed the opted-out patients already; the masking layer checks again where it can.
      optOut: view.schema.patientIdField === undefined ? new Set() : (await readOptOut(this.#options.optOutFile)).ids,
      ...(study === undefined ? {} : { studyId: study }),
      ...(pseudonymised ? { pseudonymKey: await loadOrCreatePseudonymKey(this.#options.stateDir) } : {}),
      noise: ledger === undefined ? { mode: 'preview' } : { mode: 'apply', ledger, purpose: `local query API ${route} for ${role} ${caller.userId}` },
    });
    return { result, epsilon: result.summary.epsilonSpent };
  }

  async #ledger(): Promise<PrivacyLedger> {
    const { dataset, budgetEpsilon, budgetDelta } = this.#options.privacy;
    const ledger = new PrivacyLedger({ stateDir: this.#options.stateDir, dataset });
    if ((await ledger.read()).budget === null) await ledger.setBudget({ epsilon: budgetEpsilon, delta: budgetDelta });
    return ledger;
  }

  /** Read per request: a changed data file, schema, policy or opt-out list applies at once. */
  async #view(): Promise<SiteView> {
    const declared = this.#options.schemaPath === undefined ? undefined : parseSchema(await readJson(this.#options.schemaPath, 'MASK_INVALID_SCHEMA'), this.#options.schemaPath);
    const optOut = await readOptOut(this.#options.optOutFile, this.#options.patientIdColumn ?? declared?.patientIdField);
    const { columns, records } = await loadSiteRecords(this.#options.csv, optOut);
    const schema = declared ?? inferSchema(columns, records).schema;
    const policy = this.#options.policyPath === undefined ? defaultSitePolicy(this.#options.siteId) : await loadSitePolicy(this.#options.policyPath);
    return { records, schema, policy };
  }
}

function fieldsOf(query: MaskQuery, schema: DatasetSchema): string[] {
  const names = [
    ...(query.select ?? []),
    ...(query.where ?? []).map((w) => w.field),
    ...(query.orderBy ?? []).map((o) => o.field),
    ...(query.groupBy ?? []),
  ];
  return [...new Set(names.length === 0 ? schema.fields.map((f) => f.name) : names)];
}

async function readJson(path: string, code: 'MASK_INVALID_SCHEMA'): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch {
    throw new MaskingError(code, `${path} is not a readable JSON file`);
  }
}

function sameCell(a: Cell, b: Cell): boolean {
  if (a === null || b === null) return a === b;
  return String(a) === String(b);
}

/** Mean and standard deviation of the released (masked) numeric values; withheld when fewer than k. */
function statsOf(values: readonly Cell[], k: number): FieldStats {
  const xs = values.filter((v): v is number | string => v !== null && v !== '' && Number.isFinite(Number(v))).map(Number);
  if (xs.length === 0 || xs.length < k) return { n: xs.length, mean: null, sd: null };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length < 2 ? null : Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
  return { n: xs.length, mean, sd };
}
