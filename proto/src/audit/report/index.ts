export { AuditReportBuilder, isReleaseAction } from './builder.js';
export { renderAuditReportHtml } from './html.js';
export { renderAuditReportPdf } from './pdf.js';
export { AUDIT_REPORT_SECTIONS, type AuditReport, type AuditEventRow, type AccessRow, type PrivacyRow, type AnomalyRow, type Listing } from './model.js';
