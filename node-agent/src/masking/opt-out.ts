import { readFile } from 'node:fs/promises';
import { MaskingError } from './errors.js';
import type { DatasetSchema } from './schema.js';

/** The default opt-out list inside the agent's state dir. */
export const DEFAULT_OPT_OUT_FILE = 'opt-out.txt';

/**
 * Reads the site's opt-out list: one patient identifier per line, blank lines and `#` comments
 * ignored. A missing file means nobody has opted out.
 */
export async function loadOptOutList(path: string): Promise<ReadonlySet<string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return new Set();
    throw error;
  }
  return parseOptOutList(text);
}

export function parseOptOutList(text: string): ReadonlySet<string> {
  const ids = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const id = line.replace(/#.*$/, '').trim();
    if (id !== '') ids.add(id);
  }
  return ids;
}

/**
 * Drops every record of a patient who opted out. With a non-empty list and no patient id field
 * there is no way to honour the opt-outs, so nothing is released.
 */
export function excludeOptedOut<T extends Readonly<Record<string, unknown>>>(
  records: readonly T[],
  schema: DatasetSchema,
  optOut: ReadonlySet<string>,
): { readonly kept: T[]; readonly excluded: number } {
  if (optOut.size === 0) return { kept: [...records], excluded: 0 };
  const idField = schema.patientIdField;
  if (idField === undefined) {
    throw new MaskingError(
      'MASK_OPT_OUT_UNRESOLVABLE',
      `${optOut.size} patients opted out, but the schema names no patientIdField to match them by; declare it in the schema`,
    );
  }
  const kept = records.filter((r) => !optOut.has(String(r[idField] ?? '').trim()));
  return { kept, excluded: records.length - kept.length };
}
