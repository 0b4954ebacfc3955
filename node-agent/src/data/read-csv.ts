import { createReadStream } from 'node:fs';
import { parse, type CsvError } from 'csv-parse';
import { DataError } from './errors.js';

export interface CsvTable {
  readonly header: string[];
  readonly rows: string[][];
  /** File line on which each row ends (quoted fields may span lines). */
  readonly lineNumbers: number[];
}

/**
 * What each csv-parse failure means, in words that do not quote the offending cell (csv-parse's
 * own messages sometimes do, and a cell may hold patient data).
 */
const CSV_PROBLEMS: Readonly<Record<string, string>> = {
  CSV_QUOTE_NOT_CLOSED: 'a quoted field is opened but never closed (unterminated quote)',
  CSV_INVALID_CLOSING_QUOTE: 'a closing quote is followed by something other than a comma or line end',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'a closing quote is followed by something other than a comma or line end',
  INVALID_OPENING_QUOTE: 'a quote character appears inside an unquoted field (quote the whole field and double inner quotes)',
  CSV_MAX_RECORD_SIZE: 'a record is larger than the parser accepts',
};

/** Streams a CSV file (comma separated, first row is the header) into rows of trimmed cells. */
export async function readCsv(csvPath: string): Promise<CsvTable> {
  const input = createReadStream(csvPath);
  // Ragged rows pass through and are reported by datasetFromRows with their line and counts.
  const parser = parse({ bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, info: true });
  input.on('error', (error) => parser.destroy(error));
  input.pipe(parser);

  let header: string[] | undefined;
  const rows: string[][] = [];
  const lineNumbers: number[] = [];
  try {
    for await (const entry of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (header === undefined) header = entry.record;
      else {
        rows.push(entry.record);
        lineNumbers.push(entry.info.lines);
      }
    }
  } catch (error) {
    throw translate(error, csvPath);
  }
  if (header === undefined) throw new DataError('DATA_EMPTY', `${csvPath} is empty: expected a header row and at least one data row.`);
  return { header, rows, lineNumbers };
}

function translate(error: unknown, csvPath: string): DataError {
  const fsCode = (error as NodeJS.ErrnoException).code;
  if (fsCode !== undefined && fsCode.startsWith('E') && !fsCode.startsWith('CSV')) {
    return new DataError('DATA_FILE_UNREADABLE', `Cannot read data file ${csvPath}: ${fsCode}.`);
  }
  const csv = error as CsvError & { lines?: number };
  const line = csv.lines === undefined ? '' : `, line ${csv.lines}`;
  const problem = (csv.code !== undefined && CSV_PROBLEMS[csv.code]) || 'the text is not valid CSV';
  return new DataError('DATA_CSV_MALFORMED', `${csvPath}${line}: ${problem}.`);
}
