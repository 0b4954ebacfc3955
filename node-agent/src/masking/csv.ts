import { parse } from 'csv-parse/sync';
import type { Cell } from './cells.js';
import { MaskingError } from './errors.js';

export interface CsvTable {
  readonly columns: readonly string[];
  readonly records: Record<string, string>[];
}

/**
 * Reads a CSV with a header row (RFC 4180 quoting, optional BOM). Errors name the line and the
 * problem, never the content: a parse error must not echo patient data into logs.
 */
export function readCsv(text: string | Uint8Array, source = 'data'): CsvTable {
  let rows: string[][];
  try {
    rows = parse(typeof text === 'string' ? text : Buffer.from(text), { bom: true, skip_empty_lines: true, relax_column_count: false });
  } catch (error) {
    const e = error as { code?: unknown; lines?: unknown };
    const where = typeof e.lines === 'number' ? ` near line ${e.lines}` : '';
    throw new MaskingError('MASK_INVALID_CSV', `${source}: not a valid CSV${where} (${typeof e.code === 'string' ? e.code : 'parse error'}); check quoting and that every row has as many fields as the header`);
  }
  const [header, ...body] = rows;
  if (header === undefined || header.length === 0) throw new MaskingError('MASK_INVALID_CSV', `${source}: the CSV has no header row`);
  const columns = header.map((h) => h.trim());
  const seen = new Set<string>();
  for (const [i, name] of columns.entries()) {
    if (name === '') throw new MaskingError('MASK_INVALID_CSV', `${source}: header column ${i + 1} is empty`);
    if (seen.has(name)) throw new MaskingError('MASK_INVALID_CSV', `${source}: header column "${name}" appears twice`);
    seen.add(name);
  }
  const records = body.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i] ?? ''])));
  return { columns, records };
}

/**
 * Writes CSV (RFC 4180): a field is quoted when it holds a comma, quote, CR or LF or edge spaces,
 * quotes doubled. Text a spreadsheet would run as a formula (= + - @ tab CR at the start, not a
 * plain number) is prefixed with ' so that opening the export cannot execute it.
 */
export function writeCsv(columns: readonly string[], records: readonly Readonly<Record<string, Cell>>[]): string {
  const lines = [columns.map(csvField).join(',')];
  for (const r of records) lines.push(columns.map((c) => csvField(r[c] ?? null)).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

function csvField(value: Cell): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text) && !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) text = `'${text}`;
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
