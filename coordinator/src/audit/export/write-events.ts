import { join } from 'node:path';
import {
  auditCsvHeader, auditCsvRow, canonicalJson, chainHashOfCanonical, detailsTextOfEvent, matchesFilter, spliceEntryText,
  type AuditFilter, type AuditReportBuilder,
} from '@medfed/proto/audit/index';
import type { Queryable } from '../../storage/db.js';
import { auditRowPages, rowToEntry, type AuditRow } from '../store/rows.js';
import { HashingFile } from './hashing-file.js';
import type { ExportRange } from './range.js';

export interface WrittenEvents {
  readonly entries: number;
  readonly hashOnly: number;
  readonly firstPrevHash: string | null;
  readonly lastHash: string | null;
  readonly ndjson: { readonly sha256: string; readonly bytes: number };
  readonly csv: { readonly sha256: string; readonly bytes: number };
}

/**
 * One ordered pass over the range: events.ndjson and events.csv (entries outside the filter as
 * hashes only), the report's tallies, and a self-check of the stored chain whose findings go into
 * the report. Page by page, so memory does not grow with the range.
 */
export async function writeEvents(db: Queryable, dir: string, range: ExportRange | null, filter: AuditFilter, report: AuditReportBuilder, pageSize: number): Promise<WrittenEvents> {
  const ndjson = new HashingFile(join(dir, 'events.ndjson'));
  const csv = new HashingFile(join(dir, 'events.csv'));
  await csv.write(auditCsvHeader());
  let entries = 0;
  let hashOnly = 0;
  let firstPrevHash: string | null = null;
  let lastHash: string | null = null;
  let expected = range?.firstSeq ?? 0;

  const selfCheck = (row: AuditRow) => {
    if (row.seq !== expected) report.integrityProblem(`seq ${expected} is missing from the store (next present: ${row.seq})`);
    else if (lastHash !== null && row.prev_hash !== lastHash) report.integrityProblem(`seq ${row.seq}: prev_hash is not the hash of seq ${row.seq - 1}`);
    else if (chainHashOfCanonical(row.prev_hash, row.event) !== row.hash) report.integrityProblem(`seq ${row.seq}: the stored hash does not match the stored event`);
  };

  if (range) {
    for await (const page of auditRowPages(db, { fromSeq: range.firstSeq, toSeq: range.lastSeq, pageSize })) {
      let lines = '';
      let rows = '';
      for (const row of page) {
        selfCheck(row);
        expected = row.seq + 1;
        if (entries === 0) firstPrevHash = row.prev_hash;
        lastHash = row.hash;
        entries++;
        const entry = rowToEntry(row);
        if (entry && matchesFilter(entry, filter)) {
          // The stored text is the event's JCS: splice the chain members in rather than re-serialise.
          lines += `${spliceEntryText(row.event, row.prev_hash, row.hash) ?? canonicalJson(entry)}\n`;
          rows += auditCsvRow(entry, detailsTextOfEvent(row.event));
          report.add(entry);
        } else if (entry) {
          hashOnly++;
          lines += `${canonicalJson({ seq: row.seq, prev_hash: row.prev_hash, hash: row.hash })}\n`;
          rows += auditCsvRow({ seq: row.seq, prev_hash: row.prev_hash, hash: row.hash });
        } else {
          report.integrityProblem(`seq ${row.seq}: the stored event is not a JSON object`);
          lines += `${canonicalJson({ seq: row.seq, prev_hash: row.prev_hash, hash: row.hash, unparseable_event: row.event })}\n`;
        }
      }
      await ndjson.write(lines);
      await csv.write(rows);
    }
    if (expected !== range.lastSeq + 1) report.integrityProblem(`seq ${expected} to ${range.lastSeq} are missing from the store`);
  }
  return { entries, hashOnly, firstPrevHash, lastHash, ndjson: await ndjson.close(), csv: await csv.close() };
}
