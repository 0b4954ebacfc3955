import { writeFile } from 'node:fs/promises';
import type { GeneratedTable } from './clinical-dataset.js';

/** Quotes a cell only when it must (comma, quote, line break, edge spaces); inner quotes doubled. */
function csvCell(cell: string): string {
  return /[",\r\n]|^\s|\s$/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}

/** RFC 4180 text: header line, then one line per row, `\n` line ends. */
export function toCsv(table: GeneratedTable): string {
  return [table.header, ...table.rows].map((row) => row.map(csvCell).join(',')).join('\n') + '\n';
}

export async function writeCsv(filePath: string, table: GeneratedTable): Promise<void> {
  await writeFile(filePath, toCsv(table), 'utf8');
}
