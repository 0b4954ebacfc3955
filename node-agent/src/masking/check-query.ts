import type { Cell } from './cells.js';
import { MaskingError } from './errors.js';
import type { MaskResult } from './mask-records.js';
import { assertDeidentified, planMasking, type MaskPlan, type PlanRequest } from './plan.js';
import type { SitePolicy } from './policy.js';
import { DEIDENTIFIED_ROLES, type Role } from './roles.js';
import type { DatasetSchema } from './schema.js';
import { suppressSmallCells, type ReleasedCell } from './small-cells.js';

/**
 * A query over masked records. Filters, sorting and grouping act on the masked values only, so a
 * result can never reveal (even by its order) what the masking removed.
 */
export interface MaskQuery {
  /** Fields to return (default: every field the role sees). */
  readonly select?: readonly string[];
  readonly where?: readonly { readonly field: string; readonly equals: Cell }[];
  readonly orderBy?: readonly { readonly field: string; readonly direction?: 'asc' | 'desc' }[];
  /** Aggregate: count records per combination of these fields. */
  readonly groupBy?: readonly string[];
}

/** Roles whose results must describe at least minCellSize patients. */
const SMALL_CELL_ROLES: ReadonlySet<Role> = new Set(['researcher', 'auditor']);

/**
 * Refuses a query before it runs: unknown fields, fields the role does not see (auditors see no
 * field's values), a direct identifier in clear or an exact quasi-identifier combination among the
 * fields the query uses.
 */
export function checkQuery(query: MaskQuery, schema: DatasetSchema, policy: SitePolicy, request: PlanRequest): MaskPlan {
  const plan = planMasking(schema, policy, { ...request, enforceRails: false });
  const used = fieldsOf(query);
  for (const name of used) {
    const p = plan.fields.find((f) => f.field.name === name);
    if (p === undefined) throw new MaskingError('MASK_UNKNOWN_FIELD', `the query uses field "${name}", which the dataset does not have`);
    if (p.transform === 'redact') {
      const why = p.source === 'metadata-only' ? 'auditors see metadata only' : p.source === 'not-approved' ? 'it is not an approved feature' : 'it is redacted for this role';
      throw new MaskingError('MASK_FIELD_NOT_VISIBLE', `the query uses field "${name}", but ${why}`, { field: name });
    }
  }
  if (DEIDENTIFIED_ROLES.has(request.role)) {
    const returned = new Set(query.select ?? plan.fields.map((p) => p.field.name));
    for (const name of [...(query.groupBy ?? []), ...(query.where ?? []).map((w) => w.field), ...(query.orderBy ?? []).map((o) => o.field)]) returned.add(name);
    assertDeidentified(plan.fields, request.role, returned);
  }
  return plan;
}

export type QueryResult =
  | { readonly kind: 'records'; readonly records: Record<string, Cell>[] }
  | { readonly kind: 'counts'; readonly cells: ReleasedCell[]; readonly suppressed: number };

/**
 * Runs a checked query over a MaskResult. For researchers and auditors, a filter that matches
 * between 1 and minCellSize - 1 records is refused (MASK_SMALL_CELL), and group counts below
 * minCellSize are suppressed.
 */
export function runMaskedQuery(result: MaskResult, query: MaskQuery, options: { readonly role: Role; readonly minCellSize: number }): QueryResult {
  const visible = new Set(result.columns.map((c) => c.name));
  for (const name of fieldsOf(query)) {
    if (!visible.has(name)) throw new MaskingError('MASK_FIELD_NOT_VISIBLE', `the query uses field "${name}", which this masked result does not contain`, { field: name });
  }
  const guarded = SMALL_CELL_ROLES.has(options.role);
  const matched = result.records.filter((r) => (query.where ?? []).every((w) => sameCell(r[w.field] ?? null, w.equals)));
  if (query.groupBy !== undefined && query.groupBy.length > 0) {
    const groups = new Map<string, { key: Record<string, Cell>; count: number }>();
    for (const r of matched) {
      const key = Object.fromEntries(query.groupBy.map((g) => [g, r[g] ?? null]));
      const id = JSON.stringify(query.groupBy.map((g) => r[g] ?? null));
      const group = groups.get(id) ?? { key, count: 0 };
      group.count++;
      groups.set(id, group);
    }
    const sorted = [...groups.values()].sort((a, b) => compareKeys(a.key, b.key, query.groupBy ?? []));
    if (!guarded) return { kind: 'counts', cells: sorted.map((c) => ({ ...c, suppressed: false })), suppressed: 0 };
    const { cells, suppressed } = suppressSmallCells(sorted, { minCellSize: options.minCellSize });
    return { kind: 'counts', cells, suppressed };
  }
  if (guarded && (query.where ?? []).length > 0 && matched.length > 0 && matched.length < options.minCellSize) {
    throw new MaskingError(
      'MASK_SMALL_CELL',
      `the filter matches fewer than ${options.minCellSize} records; widen it`,
      { minCellSize: options.minCellSize },
    );
  }
  const ordered = [...matched].sort((a, b) => {
    for (const { field, direction } of query.orderBy ?? []) {
      const c = compareCells(a[field] ?? null, b[field] ?? null);
      if (c !== 0) return direction === 'desc' ? -c : c;
    }
    return 0;
  });
  const select = query.select ?? result.columns.map((c) => c.name);
  return { kind: 'records', records: ordered.map((r) => Object.fromEntries(select.map((s) => [s, r[s] ?? null]))) };
}

function fieldsOf(query: MaskQuery): string[] {
  return [
    ...(query.select ?? []),
    ...(query.where ?? []).map((w) => w.field),
    ...(query.orderBy ?? []).map((o) => o.field),
    ...(query.groupBy ?? []),
  ];
}

function sameCell(a: Cell, b: Cell): boolean {
  if (a === null || b === null) return a === b;
  return String(a) === String(b);
}

/** Numbers before text, null last; numbers numerically, text by code points. */
function compareCells(a: Cell, b: Cell): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function compareKeys(a: Record<string, Cell>, b: Record<string, Cell>, fields: readonly string[]): number {
  for (const f of fields) {
    const c = compareCells(a[f] ?? null, b[f] ?? null);
    if (c !== 0) return c;
  }
  return 0;
}
