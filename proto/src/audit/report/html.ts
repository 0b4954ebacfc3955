import { AUDIT_REPORT_SECTIONS, type AccessRow, type AuditEventRow, type AuditReport, type Listing } from './model.js';

/**
 * The report as one self-contained HTML file: inline styles, no scripts, no fonts or images to
 * fetch, and a Content-Security-Policy that forbids loading anything should a value ever slip
 * through escaping. Tables have captions and scoped headers for screen readers.
 */
const STYLE = `
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1f24; margin: 0; background: #fff; }
header, main, footer { max-width: 72rem; margin: 0 auto; padding: 0 1.25rem; }
header { border-bottom: 3px solid #0b5394; padding-top: 1.5rem; padding-bottom: .75rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .5rem; color: #0b3d6e; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; font-family: ui-monospace, Menlo, Consolas, monospace; word-break: break-all; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .875rem; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { border: 1px solid #c9d1d9; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #eef3f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.mono { font-family: ui-monospace, Menlo, Consolas, monospace; word-break: break-all; }
.ok { color: #116329; font-weight: 600; }
.bad { color: #a40e26; font-weight: 600; }
.note { color: #57606a; }
footer { color: #57606a; font-size: .8rem; padding-top: 2rem; padding-bottom: 2rem; }
@media print { h2 { break-after: avoid; } tr { break-inside: avoid; } }
`;

function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

interface Column<T> { readonly title: string; readonly cell: (row: T) => string | number | null; readonly kind?: 'num' | 'mono' }

function table<T>(caption: string, columns: readonly Column<T>[], listing: Listing<T>, empty: string): string {
  if (listing.total === 0) return `<p>${esc(empty)}</p>`;
  const head = columns.map((c) => `<th scope="col">${esc(c.title)}</th>`).join('');
  const body = listing.rows.map((r) => `<tr>${columns.map((c) => `<td${c.kind ? ` class="${c.kind}"` : ''}>${esc(c.cell(r))}</td>`).join('')}</tr>`).join('\n');
  const more = listing.total > listing.rows.length ? `<p class="note">Showing ${listing.rows.length} of ${listing.total}; the full list is in events.ndjson and events.csv.</p>` : '';
  return `<table><caption>${esc(caption)} (${listing.total})</caption><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>${more}`;
}

const accessColumns = (keyTitle: string, relatedTitle: string): Column<AccessRow>[] => [
  { title: keyTitle, cell: (r) => r.key, kind: 'mono' },
  { title: 'Events', cell: (r) => r.total, kind: 'num' },
  { title: 'Denied', cell: (r) => r.denied, kind: 'num' },
  { title: 'Failed', cell: (r) => r.failed, kind: 'num' },
  { title: relatedTitle, cell: (r) => r.related.join(', ') },
  { title: 'First', cell: (r) => r.first, kind: 'mono' },
  { title: 'Last', cell: (r) => r.last, kind: 'mono' },
];

const eventColumns: Column<AuditEventRow>[] = [
  { title: 'Seq', cell: (r) => r.seq, kind: 'num' },
  { title: 'Time', cell: (r) => r.time, kind: 'mono' },
  { title: 'Actor', cell: (r) => r.actor, kind: 'mono' },
  { title: 'Role', cell: (r) => r.role },
  { title: 'Site', cell: (r) => r.site },
  { title: 'Action', cell: (r) => r.action, kind: 'mono' },
  { title: 'Resource', cell: (r) => r.resource, kind: 'mono' },
  { title: 'Outcome', cell: (r) => r.outcome },
  { title: 'Rule', cell: (r) => r.rule, kind: 'mono' },
  { title: 'Details', cell: (r) => r.details, kind: 'mono' },
];

function section(id: string, body: string): string {
  const title = AUDIT_REPORT_SECTIONS.find((s) => s.id === id)!.title;
  return `<section aria-labelledby="h-${id}"><h2 id="h-${id}">${esc(title)}</h2>\n${body}\n</section>`;
}

export function renderAuditReportHtml(report: AuditReport): string {
  const f = report.filter;
  const r = report.range;
  const summary = `<dl>
<dt>Generated</dt><dd>${esc(report.generatedAt)}</dd>
<dt>Filter</dt><dd>from ${esc(f.from ?? 'the start')} to ${esc(f.to ?? 'now')}${f.job ? `, job ${esc(f.job)}` : ''}${f.site ? `, site ${esc(f.site)}` : ''}</dd>
<dt>Sequence range</dt><dd>${r.firstSeq === null ? 'empty' : `${r.firstSeq} to ${r.lastSeq}`}</dd>
<dt>Events shown</dt><dd>${r.entries}</dd>
<dt>Outside the filter (hashes only)</dt><dd>${r.hashOnly}</dd>
<dt>Time span</dt><dd>${esc(r.firstTime ?? '-')} to ${esc(r.lastTime ?? '-')}</dd>
</dl>`;
  const integrity = report.integrity.verified
    ? '<p><span class="ok">Verified.</span> Every entry in the range links to the one before it and its hash matches its content. Re-check offline with <code>medfed audit verify</code>.</p>'
    : `<p><span class="bad">Not verified.</span> ${esc(report.integrity.problem)}</p>`;
  const sections = [
    section('summary', summary),
    section('integrity', integrity),
    section('access-by-user', table('Events per user', accessColumns('User', 'Roles'), report.byUser, 'No events in range.')),
    section('access-by-role', table('Events per role', accessColumns('Role', 'Users'), report.byRole, 'No events in range.')),
    section('access-by-site', table('Events per site', accessColumns('Site', 'Users'), report.bySite, 'No events in range.')),
    section('denials', table('Refused actions', eventColumns, report.denials, 'No action was refused in range.')),
    section('model-releases', table('Model releases and downloads', eventColumns, report.modelReleases, 'No model was released or downloaded in range.')),
    section('privacy-budget', table('Privacy budget spent per job and site', [
      { title: 'Job', cell: (p) => p.job, kind: 'mono' },
      { title: 'Site', cell: (p) => p.site },
      { title: 'Spends', cell: (p) => p.spends, kind: 'num' },
      { title: 'Epsilon', cell: (p) => p.epsilon, kind: 'num' },
      { title: 'Delta', cell: (p) => p.delta, kind: 'num' },
      { title: 'Epsilon remaining', cell: (p) => p.epsilonRemaining, kind: 'num' },
    ], report.privacy, 'No privacy budget was spent in range.')),
    section('anomalies', table('Events and patterns to review', [
      { title: 'Seq', cell: (a) => a.seq, kind: 'num' },
      { title: 'Time', cell: (a) => a.time, kind: 'mono' },
      { title: 'Kind', cell: (a) => a.kind },
      { title: 'Description', cell: (a) => a.description },
    ], report.anomalies, 'No anomalies in range.')),
  ];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(report.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${esc(report.title)}</h1><p>Who touched what, when, under which rule.</p></header>
<main>
<nav aria-label="Sections"><ul>${AUDIT_REPORT_SECTIONS.map((s) => `<li><a href="#h-${s.id}">${esc(s.title)}</a></li>`).join('')}</ul></nav>
${sections.join('\n')}
</main>
<footer>The authoritative record is events.ndjson in this bundle; manifest.json lists every file's SHA-256 and manifest.jws signs it.</footer>
</body>
</html>
`;
}
