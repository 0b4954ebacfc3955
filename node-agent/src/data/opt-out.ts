import { stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { classifyFieldName } from '../masking/safe-harbor.js';
import { DEFAULT_OPT_OUT_FILE, excludeOptedOut, loadOptOutList } from '../masking/opt-out.js';

/** The site's opt-out list as the data layer applies it to every use of the rows. */
export interface OptOut {
  readonly ids: ReadonlySet<string>;
  /** The patient id column; default: the medical record number column found by name. */
  readonly patientIdColumn?: string | undefined;
}

/** Where the opt-out list lives: the configured path (relative to the state dir) or `<stateDir>/opt-out.txt`. */
export function optOutPath(stateDir: string, configured?: string): string {
  if (configured === undefined) return join(stateDir, DEFAULT_OPT_OUT_FILE);
  return isAbsolute(configured) ? configured : join(stateDir, configured);
}

/** Reads the list and notes its version (mtime and size), so a running agent can tell it changed. */
export async function readOptOut(path: string, patientIdColumn?: string): Promise<OptOut & { readonly version: string }> {
  const ids = await loadOptOutList(path);
  const version = await stat(path).then((s) => `${s.mtimeMs}:${s.size}`, () => 'absent');
  return { ids, patientIdColumn, version };
}

/** The current version of the list on disk ('absent' when there is none). */
export async function optOutVersion(path: string): Promise<string> {
  return stat(path).then((s) => `${s.mtimeMs}:${s.size}`, () => 'absent');
}

/** The column opt-outs are matched on: the configured one, else the one named like a record number. */
export function patientIdColumnOf(header: readonly string[], configured?: string): string | undefined {
  if (configured !== undefined) return header.includes(configured) ? configured : undefined;
  const matches = header.filter((name) => classifyFieldName(name)?.identifier === 'medical-record-number');
  return matches.length === 1 ? matches[0] : undefined;
}

/**
 * Drops the rows of opted-out patients from a parsed table, before any value is typed or kept.
 * With a non-empty list and no resolvable patient id column nothing is released
 * (MASK_OPT_OUT_UNRESOLVABLE): closed by default.
 */
export function excludeOptedOutRows(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  optOut: OptOut | undefined,
): { rows: (readonly string[])[]; kept: number[]; excluded: number } {
  const all = rows.map((_, i) => i);
  if (optOut === undefined || optOut.ids.size === 0) return { rows: [...rows], kept: all, excluded: 0 };
  const column = patientIdColumnOf(header, optOut.patientIdColumn);
  const index = column === undefined ? -1 : header.indexOf(column);
  const records = rows.map((row, i) => ({ i, id: index < 0 ? undefined : row[index] }));
  const schema = column === undefined ? { fields: [] } : { fields: [], patientIdField: 'id' };
  const { kept, excluded } = excludeOptedOut(records, schema, optOut.ids);
  return { rows: kept.map((r) => rows[r.i]!), kept: kept.map((r) => r.i), excluded };
}
