import { AuditError } from '../errors.js';
import { isHash } from '../hash.js';
import { AUDIT_BUNDLE_FORMAT } from './layout.js';

/** manifest.json: what the bundle covers and the SHA-256 of each of its files. Signed as manifest.jws. */
export interface BundleManifest {
  readonly format: typeof AUDIT_BUNDLE_FORMAT;
  readonly created_at: string;
  readonly filter: { readonly from: string | null; readonly to: string | null; readonly job: string | null; readonly site: string | null };
  readonly chain: {
    /** The contiguous seq range in events.ndjson (null when the range is empty). */
    readonly first_seq: number | null;
    readonly last_seq: number | null;
    /** The prev_hash of the first entry and the hash of the last: the bundle's signed ends. */
    readonly first_prev_hash: string | null;
    readonly last_hash: string | null;
    readonly entries: number;
    readonly hash_only: number;
    /** The store's head when the bundle was made. */
    readonly head_seq: number;
    readonly head_hash: string;
  };
  /** Set when the range starts right after purged entries: truncation.jws signs this seq and hash. */
  readonly truncation: { readonly seq: number; readonly hash: string } | null;
  readonly files: readonly { readonly path: string; readonly sha256: string; readonly bytes: number }[];
}

const nullableString = (v: unknown) => v === null || typeof v === 'string';
const nullableSeq = (v: unknown) => v === null || (Number.isSafeInteger(v) && (v as number) >= 1);
const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;

function invalid(what: string): never {
  throw new AuditError('AUDIT_BUNDLE_INVALID', `manifest.json: ${what}`);
}

/** Parses and shape-checks manifest.json (its signature is checked separately). */
export function parseBundleManifest(bytes: Uint8Array): BundleManifest {
  let m: Record<string, any>;
  try {
    m = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return invalid('not UTF-8 JSON');
  }
  if (typeof m !== 'object' || m === null) invalid('not a JSON object');
  if (m['format'] !== AUDIT_BUNDLE_FORMAT) invalid(`format must be "${AUDIT_BUNDLE_FORMAT}", got ${JSON.stringify(m['format'])}`);
  if (typeof m['created_at'] !== 'string') invalid('created_at must be a time string');
  const f = m['filter'];
  if (typeof f !== 'object' || f === null || !['from', 'to', 'job', 'site'].every((k) => nullableString(f[k]))) invalid('filter must have from, to, job and site (string or null)');
  const c = m['chain'];
  if (typeof c !== 'object' || c === null) invalid('chain is missing');
  if (!nullableSeq(c.first_seq) || !nullableSeq(c.last_seq)) invalid('chain.first_seq and chain.last_seq must be sequence numbers or null');
  if ((c.first_seq === null) !== (c.last_seq === null) || (c.first_seq !== null && c.last_seq < c.first_seq)) invalid('chain.first_seq..last_seq is not a range');
  if (!(c.first_prev_hash === null || isHash(c.first_prev_hash)) || !(c.last_hash === null || isHash(c.last_hash))) invalid('chain.first_prev_hash and chain.last_hash must be 64 hex characters or null');
  if (!count(c.entries) || !count(c.hash_only) || !count(c.head_seq) || !isHash(c.head_hash)) invalid('chain.entries, hash_only, head_seq and head_hash are required');
  const t = m['truncation'];
  if (!(t === null || (typeof t === 'object' && Number.isSafeInteger(t.seq) && isHash(t.hash)))) invalid('truncation must be null or {seq, hash}');
  const files = m['files'];
  if (!Array.isArray(files) || !files.every((x) => typeof x === 'object' && x !== null && typeof x.path === 'string' && isHash(x.sha256) && count(x.bytes))) {
    invalid('files must list {path, sha256, bytes}');
  }
  return m as BundleManifest;
}
