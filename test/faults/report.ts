import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Row } from './run-scenario.js';

const COLUMNS = [
  'fault', 'phase (proved by the line seen before the fault)', 'contributions sent / acknowledged / aggregated',
  'ledger charges vs privacy.spend events', 'audit verify', 'model verify', 'job', 's', 'result',
] as const;

function cells(row: Row): string[] {
  return [
    row.fault, row.phase, row.contributions, row.ledger, row.audit, row.model, row.job, String(row.seconds),
    row.problems.length === 0 ? 'ok' : `FAILED (${row.problems.length})`,
  ];
}

const escape = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The suite's one table (Markdown), then each scenario's notes and problems. */
export function renderReport(rows: readonly Row[], root: string): string {
  const lines = [
    `| ${COLUMNS.join(' | ')} |`,
    `| ${COLUMNS.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${cells(r).map(escape).join(' | ')} |`),
    '',
  ];
  for (const r of rows) {
    if (r.notes.length === 0 && r.problems.length === 0) continue;
    lines.push(`${r.id} (${r.dir}):`);
    for (const n of r.notes) lines.push(`  note: ${n}`);
    for (const p of r.problems) lines.push(`  PROBLEM: ${p.split('\n').join('\n    ')}`);
  }
  lines.push('', `processes' output, agent logs and configurations: ${root}/scenarios/<id>/ (removed after a green run unless MEDFED_FAULTS_KEEP=1)`);
  return `${lines.join('\n')}\n`;
}

/** Rewrites `<root>/fault-report.md` with the rows so far (a run cut short still leaves its table). */
export async function saveReport(rows: readonly Row[], root: string): Promise<string> {
  const file = join(root, 'fault-report.md');
  await writeFile(file, renderReport(rows, root));
  return file;
}

/** Prints the report and writes it to `<root>/fault-report.md` (outside the repository); returns that path. */
export async function publishReport(rows: readonly Row[], root: string): Promise<string> {
  const text = renderReport(rows, root);
  const file = await saveReport(rows, root);
  process.stdout.write(`\nfault-injection suite (${rows.length} scenarios):\n\n${text}report written to ${file}\n`);
  return file;
}
