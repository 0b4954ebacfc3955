import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import PDFDocument from 'pdfkit';
import { AUDIT_REPORT_SECTIONS, type AccessRow, type AuditEventRow, type AuditReport, type Listing } from './model.js';

/**
 * The report as a tagged PDF (pdfkit, pure JavaScript: no browser needed). Same sections and
 * listings as the HTML; built-in Helvetica, which covers every character the validated fields allow.
 */
type Doc = InstanceType<typeof PDFDocument>;

const FONT = 'Helvetica';
const BOLD = 'Helvetica-Bold';
const MONO = 'Courier';

function heading(doc: Doc, id: (typeof AUDIT_REPORT_SECTIONS)[number]['id']): void {
  const title = AUDIT_REPORT_SECTIONS.find((s) => s.id === id)!.title;
  if (doc.y > doc.page.height - doc.page.margins.bottom - 80) doc.addPage();
  doc.moveDown(0.8).font(BOLD).fontSize(13).fillColor('#0b3d6e').text(title, doc.page.margins.left).fillColor('black').font(FONT).fontSize(9).moveDown(0.3);
  doc.outline.addItem(title);
}

function listing<T>(doc: Doc, columns: readonly { title: string; width: number; cell: (r: T) => unknown; mono?: boolean }[], list: Listing<T>, empty: string): void {
  if (list.total === 0) {
    doc.font(FONT).fontSize(9).text(empty, doc.page.margins.left);
    return;
  }
  const header = columns.map((c) => ({ text: c.title, type: 'TH' as const, font: { src: BOLD, size: 8 }, backgroundColor: '#eef3f8' }));
  const rows = list.rows.map((r) => columns.map((c) => ({ text: String(c.cell(r) ?? ''), font: { src: c.mono ? MONO : FONT, size: 7.5 } })));
  doc.font(FONT).fontSize(8);
  doc.table({
    position: { x: doc.page.margins.left },
    columnStyles: columns.map((c) => ({ width: c.width })),
    defaultStyle: { padding: 2, border: 0.5, borderColor: '#c9d1d9' },
    data: [header, ...rows],
  });
  if (list.total > list.rows.length) {
    doc.moveDown(0.3).font(FONT).fontSize(8).fillColor('#57606a').text(`Showing ${list.rows.length} of ${list.total}; the full list is in events.ndjson and events.csv.`, doc.page.margins.left).fillColor('black');
  }
}

const accessColumns = (key: string, related: string) => [
  { title: key, width: 190, cell: (r: AccessRow) => r.key, mono: true },
  { title: 'Events', width: 50, cell: (r: AccessRow) => r.total },
  { title: 'Denied', width: 50, cell: (r: AccessRow) => r.denied },
  { title: 'Failed', width: 50, cell: (r: AccessRow) => r.failed },
  { title: related, width: 200, cell: (r: AccessRow) => r.related.join(', ') },
  { title: 'First', width: 115, cell: (r: AccessRow) => r.first, mono: true },
  { title: 'Last', width: 115, cell: (r: AccessRow) => r.last, mono: true },
];

const eventColumns = [
  { title: 'Seq', width: 40, cell: (r: AuditEventRow) => r.seq },
  { title: 'Time', width: 100, cell: (r: AuditEventRow) => r.time, mono: true },
  { title: 'Actor', width: 110, cell: (r: AuditEventRow) => r.actor, mono: true },
  { title: 'Role / site', width: 80, cell: (r: AuditEventRow) => `${r.role}${r.site ? ` / ${r.site}` : ''}` },
  { title: 'Action', width: 85, cell: (r: AuditEventRow) => r.action, mono: true },
  { title: 'Resource', width: 100, cell: (r: AuditEventRow) => r.resource, mono: true },
  { title: 'Outcome', width: 50, cell: (r: AuditEventRow) => r.outcome },
  { title: 'Rule', width: 80, cell: (r: AuditEventRow) => r.rule, mono: true },
  { title: 'Details', width: 125, cell: (r: AuditEventRow) => r.details, mono: true },
];

/** Writes the PDF to `out` and resolves once it is fully written. */
export async function renderAuditReportPdf(report: AuditReport, out: Writable): Promise<void> {
  const doc = new PDFDocument({
    size: 'A4', layout: 'landscape', margin: 36, tagged: true, lang: 'en', displayTitle: true,
    info: { Title: report.title, Subject: 'Audit trail compliance report', Producer: 'medfed', CreationDate: new Date(report.generatedAt) },
  });
  const done = finished(out);
  doc.pipe(out);
  doc.font(BOLD).fontSize(18).text(report.title);
  doc.font(FONT).fontSize(10).fillColor('#57606a').text('Who touched what, when, under which rule.').fillColor('black');

  const f = report.filter;
  const r = report.range;
  heading(doc, 'summary');
  for (const [k, v] of [
    ['Generated', report.generatedAt],
    ['Filter', `from ${f.from ?? 'the start'} to ${f.to ?? 'now'}${f.job ? `, job ${f.job}` : ''}${f.site ? `, site ${f.site}` : ''}`],
    ['Sequence range', r.firstSeq === null ? 'empty' : `${r.firstSeq} to ${r.lastSeq}`],
    ['Events shown', String(r.entries)],
    ['Outside the filter (hashes only)', String(r.hashOnly)],
    ['Time span', `${r.firstTime ?? '-'} to ${r.lastTime ?? '-'}`],
  ] as const) {
    doc.font(BOLD).fontSize(9).text(`${k}: `, { continued: true }).font(FONT).text(v);
  }

  heading(doc, 'integrity');
  doc.font(BOLD).fillColor(report.integrity.verified ? '#116329' : '#a40e26').text(report.integrity.verified ? 'Verified.' : 'Not verified.', { continued: true })
    .font(FONT).fillColor('black')
    .text(report.integrity.verified ? ' Every entry in the range links to the one before it and its hash matches its content.' : ` ${report.integrity.problem ?? ''}`);

  heading(doc, 'access-by-user');
  listing(doc, accessColumns('User', 'Roles'), report.byUser, 'No events in range.');
  heading(doc, 'access-by-role');
  listing(doc, accessColumns('Role', 'Users'), report.byRole, 'No events in range.');
  heading(doc, 'access-by-site');
  listing(doc, accessColumns('Site', 'Users'), report.bySite, 'No events in range.');
  heading(doc, 'denials');
  listing(doc, eventColumns, report.denials, 'No action was refused in range.');
  heading(doc, 'model-releases');
  listing(doc, eventColumns, report.modelReleases, 'No model was released or downloaded in range.');
  heading(doc, 'privacy-budget');
  listing(doc, [
    { title: 'Job', width: 200, cell: (p) => p.job, mono: true },
    { title: 'Site', width: 150, cell: (p) => p.site },
    { title: 'Spends', width: 70, cell: (p) => p.spends },
    { title: 'Epsilon', width: 100, cell: (p) => p.epsilon },
    { title: 'Delta', width: 100, cell: (p) => p.delta },
    { title: 'Epsilon remaining', width: 120, cell: (p) => p.epsilonRemaining ?? '' },
  ], report.privacy, 'No privacy budget was spent in range.');
  heading(doc, 'anomalies');
  listing(doc, [
    { title: 'Seq', width: 60, cell: (a) => a.seq ?? '' },
    { title: 'Time', width: 130, cell: (a) => a.time ?? '', mono: true },
    { title: 'Kind', width: 150, cell: (a) => a.kind },
    { title: 'Description', width: 430, cell: (a) => a.description },
  ], report.anomalies, 'No anomalies in range.');

  doc.end();
  await done;
}
