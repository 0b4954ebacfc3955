import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import {
  AUDIT_REPORT_SECTIONS, AuditReportBuilder, linkEntry, renderAuditReportHtml, renderAuditReportPdf, toAuditEvent,
  type AuditEntry, type AuditEventInput, type AuditReport,
} from '../../src/audit/index.js';
import { sampleInput } from './support.js';
import { requireBinary } from '../../../test/support/require-binary.js';

const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/audit/', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const PDFTOPPM = '/usr/bin/pdftoppm';
const run = promisify(execFile);

function reportFixture(): AuditReport {
  const extra: AuditEventInput[] = [
    { actor: 'site:site-c', role: 'site', site: 'site-c', action: 'sandbox.breach', resource: 'job:j-1/round:2', outcome: 'denied', rule: 'sandbox:seccomp', details: { job: 'j-1', round: 2, reason: 'SYSCALL_BLOCKED' } },
    { actor: 'site:site-b', role: 'site', site: 'site-b', action: 'attestation.verdict', resource: 'site:site-b', outcome: 'success', rule: 'attestation:policy-v1', details: { verdict: 'fail', reason: 'MEASUREMENT_UNKNOWN' } },
    { actor: 'user:bob@hospital-b', role: 'researcher', action: 'model.release', resource: 'model:m-2', outcome: 'success', rule: 'rbac:owner/model.release', details: { job: 'j-1', model: 'm-2', sha256: 'cd'.repeat(32) } },
    { actor: 'user:<script>alert(1)</script>', role: 'researcher', action: 'api.access', resource: 'job:j-1', outcome: 'denied', rule: 'rbac:none', details: {} },
  ];
  const builder = new AuditReportBuilder({ filter: { from: '2025-03-01T00:00:00.000Z', to: null, job: null, site: null }, listLimit: 50 });
  let prev = '0'.repeat(64);
  let seq = 1;
  const add = (input: AuditEventInput) => {
    const entry: AuditEntry = linkEntry(prev, toAuditEvent({ ...input, time: new Date(Date.parse('2025-03-01T08:00:00.000Z') + seq * 60_000).toISOString() }, seq));
    prev = entry.hash;
    seq++;
    builder.add(entry);
  };
  for (let i = 0; i < 120; i++) add(sampleInput(i));
  for (const e of extra) {
    try { add(e); } catch { builder.integrityProblem('fixture event refused by validation'); }
  }
  return builder.build({ firstSeq: 1, lastSeq: seq - 1, hashOnly: 3 }, '2025-03-02T00:00:00.000Z');
}

describe('audit report', () => {
  let browser: Browser;
  const report = reportFixture();
  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: requireBinary(CHROMIUM, 'chromium'),
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 60_000);
  afterAll(async () => { await browser?.close(); });

  it('tallies access, denials, releases, privacy spend and anomalies', () => {
    expect(report.range.entries).toBe(123);
    expect(report.byUser.rows[0]!.total).toBeGreaterThan(0);
    expect(report.denials.total).toBe(31);
    expect(report.modelReleases.total).toBe(30 + 1);
    expect(report.privacy.rows).toEqual([{ job: 'j-1', site: 'site-b', spends: 30, epsilon: 15, delta: 0.00003, epsilonRemaining: 2.5 }]);
    expect(report.anomalies.rows.map((a) => a.kind)).toEqual(expect.arrayContaining(['Sandbox breach', 'Attestation failed', 'Repeated denials', 'Chain integrity']));
  });

  it('renders self-contained, accessible HTML in Chromium without any request', async () => {
    const html = renderAuditReportHtml(report);
    expect(html).not.toMatch(/<script|<link|@import|url\(|src=/i);
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (r) => { requests.push(r.url()); });
    await page.route('**/*', (route) => { requests.push(route.request().url()); return route.abort(); });
    await page.setContent(html, { waitUntil: 'load' });
    const headings = await page.locator('h2').allTextContents();
    expect(headings).toEqual(AUDIT_REPORT_SECTIONS.map((s) => s.title));
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    expect(await page.locator('h1').count()).toBe(1);
    const tables = await page.locator('table').count();
    expect(tables).toBeGreaterThanOrEqual(7);
    expect(await page.locator('table > caption').count()).toBe(tables);
    expect(await page.locator('th:not([scope="col"])').count()).toBe(0);
    expect(await page.locator('section[aria-labelledby]').count()).toBe(AUDIT_REPORT_SECTIONS.length);
    // Escaped, not executed: the hostile-looking value was refused by validation, never rendered as markup.
    expect(await page.locator('script').count()).toBe(0);
    await page.screenshot({ path: `${ARTIFACTS}report-html.png`, fullPage: true });
    await page.close();
    expect(requests).toEqual([]);
  }, 60_000);

  it('renders a PDF whose first page rasterises to a non-blank image', async () => {
    const pdf = `${ARTIFACTS}report.pdf`;
    await renderAuditReportPdf(report, createWriteStream(pdf));
    const bytes = await readFile(pdf);
    expect(bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const { stdout } = await run(requireBinary('/usr/bin/pdfinfo', 'poppler-utils'), [pdf]);
    expect(Number(/Pages:\s+(\d+)/.exec(stdout)?.[1])).toBeGreaterThan(1);
    expect(stdout).toMatch(/Tagged:\s+yes/);
    await run(requireBinary(PDFTOPPM, 'poppler-utils'), ['-png', '-r', '60', '-f', '1', '-l', '1', '-singlefile', pdf, `${ARTIFACTS}report-pdf-page1`]);
    await run(PDFTOPPM, ['-gray', '-r', '40', '-f', '1', '-l', '1', '-singlefile', pdf, `${ARTIFACTS}report-pdf-page1`]);
    const pgm = await readFile(`${ARTIFACTS}report-pdf-page1.pgm`);
    // Binary PGM: "P5\n<w> <h>\n255\n" then one byte per pixel.
    const header = /^P5\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(pgm.subarray(0, 40).toString('latin1'))!;
    const [w, h] = [Number(header[1]), Number(header[2])];
    const pixels = pgm.subarray(pgm.length - w * h);
    const dark = pixels.reduce((n, p) => n + (p < 128 ? 1 : 0), 0);
    expect(w * h).toBeGreaterThan(10_000);
    expect(dark / (w * h)).toBeGreaterThan(0.01);
    expect(dark / (w * h)).toBeLessThan(0.6);
  }, 60_000);
});
