import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import {
  AUDIT_BUNDLE_FILES, AUDIT_BUNDLE_FORMAT, AuditReportBuilder, canonicalJson, GENESIS_PREV_HASH, lastAnchorInTail, packTarGz,
  renderAuditReportHtml, renderAuditReportPdf,
  type AnchorRecord, type AuditEntry, type AuditEventInput, type BundleManifest, type JwsSigner, type TlogTailJson,
} from '@medfed/proto/audit/index';
import type { JSONWebKeySet } from 'jose';
import type { Db } from '../../storage/db.js';
import { AuditStoreError } from '../errors.js';
import { appendAuditEvent } from '../store/append.js';
import { currentHead } from '../store/head.js';
import { currentRequestScope, noteRequestEvent } from '../request-events.js';
import { normalizeExportFilter, type ExportFilterInput, type NormalizedFilter } from './filter.js';
import { anchorsInRange, exportRange } from './range.js';
import { writeEvents } from './write-events.js';

/** Who asked for the export, as recorded in its own audit.export event. */
export interface ExportRequester {
  readonly actor: string;
  readonly role: string;
  readonly site?: string | null;
  readonly requestId?: string | null;
  /** The authorization rule that allowed the export. */
  readonly rule: string;
}

/**
 * Checkpoints and proofs that cover the anchors in range (from the transparency log), and the log's
 * tail after the last of them under the same checkpoint (null when over the cap); opaque JSON here.
 */
export type TlogEvidenceProvider = (anchors: readonly AnchorRecord[]) => Promise<{ readonly checkpoints: unknown; readonly proofs: unknown; readonly tail?: unknown } | null>;

export interface AuditExportOptions {
  readonly filter: ExportFilterInput;
  /** A path for the .tar.gz, or a stream (an HTTP response). */
  readonly out: string | Writable;
  readonly signer: JwsSigner;
  /** The coordinator's public keys, shipped in the bundle as jwks.json. */
  readonly jwks: JSONWebKeySet;
  readonly requestedBy: ExportRequester;
  /** Records the export's own audit event; default: a transaction of its own on `db`. Pass an AuditWriter's append to batch it. */
  readonly record?: (event: AuditEventInput) => Promise<AuditEntry>;
  readonly tlogEvidence?: TlogEvidenceProvider;
  readonly tmpDir?: string;
  readonly pageSize?: number;
  /** Rows per listing in the report (denials, releases, ...). Default 500. */
  readonly listLimit?: number;
  readonly now?: () => Date;
}

export interface AuditExportResult {
  readonly manifest: BundleManifest;
  readonly exportEvent: AuditEntry;
}

const NAMES = AUDIT_BUNDLE_FILES.map((f) => f.name);
type Written = Map<string, { sha256: string; bytes: number }>;

async function writeSmall(dir: string, written: Written, name: string, content: string | Uint8Array): Promise<void> {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  await writeFile(join(dir, name), bytes);
  written.set(name, { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length });
}

async function digestFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/**
 * Builds the compliance bundle: events.ndjson (entries outside the filter as hashes only, so the
 * chain still verifies across them) and events.csv, the anchors with their transparency-log
 * checkpoints and proofs, the JWKS, the HTML and PDF report, and a signed manifest of every file's
 * SHA-256. The export is itself an audit event, recorded before anything is read (fail closed).
 * One pass over the range, page by page: memory does not grow with the number of events.
 */
export async function exportAuditBundle(db: Db, options: AuditExportOptions): Promise<AuditExportResult> {
  const filter = normalizeExportFilter(options.filter);
  const now = options.now ?? (() => new Date());
  const record = options.record ?? (async (event: AuditEventInput) => {
    const entry = await appendAuditEvent(db, event);
    noteRequestEvent(event, 'committed');
    return entry;
  });
  // Inside a request, the policy rule that admitted it is the export's rule.
  const who = { ...options.requestedBy, rule: currentRequestScope()?.rule ?? options.requestedBy.rule };
  const exportEvent = await record({
    time: now().toISOString(), actor: who.actor, role: who.role, site: who.site ?? null, request_id: who.requestId ?? null,
    action: 'audit.export', resource: 'audit', outcome: 'success', rule: who.rule,
    details: { format: 'bundle-v1', ...(filter.from ? { from: filter.from } : {}), ...(filter.to ? { to: filter.to } : {}), ...(filter.job ? { job: filter.job } : {}), ...(filter.site ? { site: filter.site } : {}) },
  });
  const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'medfed-audit-'));
  try {
    const manifest = await buildInto(db, dir, filter, options, now);
    await packTarGz(dir, NAMES.filter((n) => manifest.files.some((f) => f.path === n) || n === 'manifest.json' || n === 'manifest.jws'), options.out);
    return { manifest, exportEvent };
  } catch (err) {
    await record({
      time: now().toISOString(), actor: who.actor, role: who.role, site: who.site ?? null, request_id: who.requestId ?? null,
      action: 'audit.export', resource: 'audit', outcome: 'failure', rule: who.rule, details: { format: 'bundle-v1', reason: 'AUDIT_EXPORT_FAILED' },
    }).catch(() => {});
    if (err instanceof AuditStoreError) throw err;
    throw new AuditStoreError('AUDIT_EXPORT_FAILED', `the audit bundle could not be written: ${(err as Error).message}`, undefined, { cause: err });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The range, its anchors and the log evidence, taken together. Even a range without anchors gets a
 * checkpoint and the tail: they show that nothing after it was anchored. Without a `to` bound the
 * range must reach every entry the tail anchors; an anchor that landed between reading the range
 * and signing the checkpoint means reading again, or the genuine bundle would look truncated.
 */
async function rangeWithEvidence(db: Db, filter: NormalizedFilter, provider: TlogEvidenceProvider | undefined) {
  for (let attempt = 1; ; attempt++) {
    const range = await exportRange(db, filter);
    const anchors = await anchorsInRange(db, range);
    const evidence = provider ? await provider(anchors) : null;
    const tail = evidence?.tail as TlogTailJson | null | undefined;
    const anchoredBeyond = filter.to === null && tail ? (lastAnchorInTail(tail)?.seq ?? 0) > (range?.lastSeq ?? 0) : false;
    if (!anchoredBeyond || attempt === 5) return { range, anchors, evidence };
  }
}

async function buildInto(db: Db, dir: string, filter: NormalizedFilter, options: AuditExportOptions, now: () => Date): Promise<BundleManifest> {
  const written: Written = new Map();
  const head = await currentHead(db);
  const { range, anchors, evidence } = await rangeWithEvidence(db, filter, options.tlogEvidence);
  const report = new AuditReportBuilder({ filter, listLimit: options.listLimit ?? 500 });
  const events = await writeEvents(db, dir, range, filter, report, options.pageSize ?? 2000);
  written.set('events.ndjson', events.ndjson);
  written.set('events.csv', events.csv);
  const firstSeq = range?.firstSeq ?? null;
  const lastSeq = range?.lastSeq ?? null;
  const { firstPrevHash, lastHash, entries, hashOnly } = events;

  // Anchors in range, and the transparency-log evidence for them.
  await writeSmall(dir, written, 'anchors.ndjson', anchors.map((a) => `${canonicalJson(a)}\n`).join(''));
  if (evidence) {
    await writeSmall(dir, written, 'checkpoints.json', `${JSON.stringify(evidence.checkpoints, null, 2)}\n`);
    await writeSmall(dir, written, 'proofs.json', `${JSON.stringify(evidence.proofs, null, 2)}\n`);
    if (evidence.tail) await writeSmall(dir, written, 'tlog-tail.json', `${JSON.stringify(evidence.tail)}\n`);
  }

  // A range that starts right after purged entries starts at a signed truncation anchor.
  let truncation: BundleManifest['truncation'] = null;
  if (firstSeq !== null && firstSeq > 1 && firstPrevHash !== GENESIS_PREV_HASH) {
    const { rows } = await db.query<{ seq: number; hash: string; jws: string }>('SELECT seq, hash, jws FROM audit_truncations WHERE seq = $1', [firstSeq - 1]);
    if (rows[0]) {
      truncation = { seq: Number(rows[0].seq), hash: rows[0].hash };
      await writeSmall(dir, written, 'truncation.jws', `${rows[0].jws}\n`);
    }
  }
  await writeSmall(dir, written, 'jwks.json', `${JSON.stringify(options.jwks, null, 2)}\n`);

  // The human-readable report.
  const generatedAt = now().toISOString();
  const model = report.build({ firstSeq, lastSeq, hashOnly }, generatedAt);
  await writeSmall(dir, written, 'report.html', renderAuditReportHtml(model));
  await renderAuditReportPdf(model, createWriteStream(join(dir, 'report.pdf')));
  written.set('report.pdf', await digestFile(join(dir, 'report.pdf')));

  const manifest: BundleManifest = {
    format: AUDIT_BUNDLE_FORMAT,
    created_at: generatedAt,
    filter,
    chain: { first_seq: firstSeq, last_seq: lastSeq, first_prev_hash: firstPrevHash, last_hash: lastHash, entries, hash_only: hashOnly, head_seq: head.seq, head_hash: head.hash },
    truncation,
    files: AUDIT_BUNDLE_FILES.filter((f) => f.inManifest && written.has(f.name)).map((f) => ({ path: f.name, ...written.get(f.name)! })),
  };
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
  await writeFile(join(dir, 'manifest.json'), manifestBytes);
  await writeFile(join(dir, 'manifest.jws'), `${await options.signer(manifestBytes)}\n`);
  return manifest;
}
