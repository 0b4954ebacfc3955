import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { JSONWebKeySet } from 'jose';
import { anchorLeafBytes, type AnchorRecord, type TlogEvidenceVerifier } from '../anchor.js';
import { AuditError, type AuditErrorCode } from '../errors.js';
import { GENESIS_PREV_HASH, isHash } from '../hash.js';
import { parseTruncationPayload } from '../truncation.js';
import { AuditChainVerifier, type ChainSummary } from '../verify/chain-verifier.js';
import { LineSplitter } from '../verify/line-splitter.js';
import type { VerifyProblem } from '../verify/problem.js';
import { parseJwks, verifyCompactJws } from './jws.js';
import { AUDIT_BUNDLE_FILES, bundleFileOrder, bundleFileSpec } from './layout.js';
import { parseBundleManifest, type BundleManifest } from './manifest.js';
import { readTarGz } from './tar.js';

export interface BundleVerifyOptions {
  /**
   * Trusted public keys of the coordinator. Without them the bundle's own jwks.json is used, which
   * proves the bundle is unchanged since it was signed but not who signed it.
   */
  readonly jwks?: JSONWebKeySet;
  /** The transparency-log verifier; without it, checkpoints and proofs are reported as unchecked. */
  readonly verifyTlog?: TlogEvidenceVerifier;
}

export type CheckState = 'verified' | 'failed' | 'unchecked' | 'absent';

export interface BundleVerifyReport {
  readonly ok: boolean;
  /** Every problem found; chain problems (which name an event) first. */
  readonly problems: readonly VerifyProblem[];
  /** The first bad event, when a problem concerns one. */
  readonly firstBadEvent: VerifyProblem | null;
  readonly manifest: BundleManifest | null;
  readonly chain: ChainSummary | null;
  readonly signature: CheckState;
  readonly keySource: 'pinned' | 'bundle';
  readonly truncation: CheckState;
  readonly anchors: number;
  readonly tlog: CheckState;
}

interface FileRecord {
  readonly sha256: string;
  readonly bytes: number;
  readonly content: Buffer | null;
}

/**
 * Verifies a compliance bundle offline, streaming: events.ndjson goes line by line through the chain
 * verifier while every file is hashed, so a bundle of a million events needs constant memory.
 */
export async function verifyAuditBundle(source: string | Readable, options: BundleVerifyOptions = {}): Promise<BundleVerifyReport> {
  const problems: VerifyProblem[] = [];
  const problem = (code: AuditErrorCode, message: string) => problems.push({ code, seq: null, line: null, message });
  const files = new Map<string, FileRecord>();
  let lastOrder = -1;
  let manifest: BundleManifest | null = null;
  let anchors: AnchorRecord[] = [];
  let verifier: AuditChainVerifier | null = null;

  const startEvents = (): AuditChainVerifier => {
    manifest = manifest ?? readManifest(files, problem);
    anchors = readAnchors(files, problem);
    const start = manifest && manifest.chain.first_seq !== null && manifest.chain.first_prev_hash !== null
      ? { seq: manifest.chain.first_seq, prevHash: manifest.chain.first_prev_hash }
      : undefined;
    if (manifest?.chain.first_seq === 1 && manifest.chain.first_prev_hash !== GENESIS_PREV_HASH) {
      problems.push({ code: 'AUDIT_CHAIN_START_MISMATCH', seq: 1, line: 1, message: 'seq 1 must follow the genesis (prev_hash of 64 zeros)' });
    }
    return new AuditChainVerifier({
      ...(start ? { start } : {}),
      anchors: new Map(anchors.map((a) => [a.seq, a.hash])),
      canonicalLines: true,
      allowHashOnly: true,
    });
  };

  try {
    await readTarGz(source, ({ name, type, size }) => {
      const spec = bundleFileSpec(name);
      const order = bundleFileOrder(name);
      const ignore = { onData: () => {}, onEnd: () => {} };
      if (type !== 'File' && type !== 'OldFile') {
        problem('AUDIT_BUNDLE_INVALID', `"${name}" is a ${type}, not a regular file; a bundle holds only regular files`);
        return ignore;
      }
      if (!spec) {
        problem('AUDIT_BUNDLE_INVALID', `"${name}" is not a file of a medfed audit bundle`);
        return ignore;
      }
      if (files.has(name) || order <= lastOrder) {
        problem('AUDIT_BUNDLE_INVALID', `"${name}" is repeated or out of order; expected order: ${AUDIT_BUNDLE_FILES.map((f) => f.name).join(', ')}`);
        return ignore;
      }
      if (size > spec.maxBytes) {
        problem('AUDIT_BUNDLE_INVALID', `"${name}" is ${size} bytes, more than the ${spec.maxBytes} allowed`);
        return ignore;
      }
      lastOrder = order;
      const hash: Hash = createHash('sha256');
      let bytes = 0;
      const chunks: Buffer[] = [];
      let splitter: LineSplitter | null = null;
      if (spec.reading === 'events') {
        const v = startEvents();
        verifier = v;
        splitter = new LineSplitter((line) => { v.pushLine(line); });
      }
      return {
        onData: (chunk) => {
          hash.update(chunk);
          bytes += chunk.length;
          if (spec.reading === 'buffer') chunks.push(chunk);
          else if (splitter) splitter.push(chunk);
        },
        onEnd: () => {
          splitter?.end();
          files.set(name, { sha256: hash.digest('hex'), bytes, content: spec.reading === 'buffer' ? Buffer.concat(chunks) : null });
        },
      };
    });
  } catch (err) {
    problem('AUDIT_BUNDLE_INVALID', `the bundle is not a readable .tar.gz: ${(err as Error).message}`);
  }

  for (const spec of AUDIT_BUNDLE_FILES) {
    if (spec.required && !files.has(spec.name)) problem('AUDIT_BUNDLE_INVALID', `"${spec.name}" is missing from the bundle`);
  }
  manifest = manifest ?? (files.has('manifest.json') ? readManifest(files, problem) : null);
  const m: BundleManifest | null = manifest;

  // Chain: continuity, hashes, anchors, and the signed ends from the manifest.
  let chain: ChainSummary | null = null;
  const chainVerifier = verifier as AuditChainVerifier | null;
  if (chainVerifier) {
    const end = m && m.chain.last_seq !== null && m.chain.last_hash !== null ? { seq: m.chain.last_seq, hash: m.chain.last_hash } : null;
    const verdict = chainVerifier.finish(end);
    chain = verdict.summary;
    if (verdict.problem) problems.unshift(verdict.problem);
    else if (m) {
      if (m.chain.last_seq === null && verdict.summary.entries > 0) {
        problems.unshift({ code: 'AUDIT_CHAIN_END_MISMATCH', seq: verdict.summary.firstSeq, line: 1, message: 'the manifest says the range is empty but events.ndjson has entries' });
      } else if (verdict.summary.entries !== m.chain.entries || verdict.summary.hashOnly !== m.chain.hash_only) {
        problem('AUDIT_CHAIN_END_MISMATCH', `events.ndjson holds ${verdict.summary.entries} entries (${verdict.summary.hashOnly} hash-only); the manifest says ${m.chain.entries} (${m.chain.hash_only})`);
      }
    }
  }

  // Files against the manifest's digests.
  if (m) {
    const listed = new Set<string>();
    for (const f of m.files) {
      listed.add(f.path);
      const got = files.get(f.path);
      if (!got) problem('AUDIT_BUNDLE_FILE_MISMATCH', `"${f.path}" is listed in the manifest but absent from the bundle`);
      else if (got.sha256 !== f.sha256 || got.bytes !== f.bytes) {
        problem('AUDIT_BUNDLE_FILE_MISMATCH', `"${f.path}" has SHA-256 ${got.sha256} (${got.bytes} bytes); the manifest says ${f.sha256} (${f.bytes} bytes)`);
      }
    }
    for (const spec of AUDIT_BUNDLE_FILES) {
      if (spec.inManifest && files.has(spec.name) && !listed.has(spec.name)) problem('AUDIT_BUNDLE_FILE_MISMATCH', `"${spec.name}" is in the bundle but not in the manifest`);
    }
  }

  // Signatures: manifest.jws must sign exactly manifest.json; truncation.jws must sign the manifest's truncation point.
  const keySource = options.jwks ? 'pinned' : 'bundle';
  let jwks: JSONWebKeySet | null = options.jwks ?? null;
  if (!jwks && files.get('jwks.json')?.content) {
    try { jwks = parseJwks(files.get('jwks.json')!.content!, 'jwks.json'); } catch (err) { problem((err as AuditError).code ?? 'AUDIT_BUNDLE_INVALID', (err as Error).message); }
  }
  let signature: CheckState = 'absent';
  const manifestBytes = files.get('manifest.json')?.content;
  const manifestJws = files.get('manifest.jws')?.content;
  if (manifestBytes && manifestJws) {
    signature = 'failed';
    if (jwks) {
      try {
        const payload = await verifyCompactJws(manifestJws.toString('utf8'), jwks, 'manifest.jws');
        if (Buffer.compare(Buffer.from(payload), manifestBytes) === 0) signature = 'verified';
        else problem('AUDIT_SIGNATURE_INVALID', 'manifest.jws is validly signed but its payload is not manifest.json byte for byte');
      } catch (err) {
        problem('AUDIT_SIGNATURE_INVALID', (err as Error).message);
      }
    } else {
      problem('AUDIT_SIGNATURE_INVALID', 'no usable JWKS to check manifest.jws against');
    }
  }

  let truncation: CheckState = 'absent';
  const truncationJws = files.get('truncation.jws')?.content;
  if (m?.truncation || truncationJws) {
    truncation = 'failed';
    if (!m?.truncation || !truncationJws) {
      problem('AUDIT_TRUNCATION_INVALID', m?.truncation ? 'the manifest names a truncation anchor but truncation.jws is missing' : 'truncation.jws is present but the manifest names no truncation anchor');
    } else if (jwks) {
      try {
        const anchor = parseTruncationPayload(await verifyCompactJws(truncationJws.toString('utf8'), jwks, 'truncation.jws'));
        if (anchor.seq !== m.truncation.seq || anchor.hash !== m.truncation.hash) {
          problem('AUDIT_TRUNCATION_INVALID', `truncation.jws signs seq ${anchor.seq} / ${anchor.hash}, the manifest says seq ${m.truncation.seq} / ${m.truncation.hash}`);
        } else if (m.chain.first_seq !== null && (m.chain.first_seq !== anchor.seq + 1 || m.chain.first_prev_hash !== anchor.hash)) {
          problems.push({ code: 'AUDIT_CHAIN_START_MISMATCH', seq: m.chain.first_seq, line: 1, message: `the range must start at seq ${anchor.seq + 1} with prev_hash ${anchor.hash} (the truncation anchor)` });
        } else {
          truncation = 'verified';
        }
      } catch (err) {
        problem(err instanceof AuditError && err.code === 'AUDIT_SIGNATURE_INVALID' ? 'AUDIT_TRUNCATION_INVALID' : (err as AuditError).code ?? 'AUDIT_TRUNCATION_INVALID', (err as Error).message);
      }
    }
  }

  // Transparency log: the checkpoints and proofs for the anchors, through the injected verifier.
  let tlog: CheckState = 'absent';
  const checkpoints = files.get('checkpoints.json')?.content;
  const proofs = files.get('proofs.json')?.content;
  if (checkpoints || proofs) {
    tlog = 'unchecked';
    if (options.verifyTlog) {
      try {
        await options.verifyTlog({
          anchors,
          leaves: anchors.map((a) => ({ leafIndex: a.leaf_index, bytes: anchorLeafBytes(a) })),
          checkpoints: checkpoints ? JSON.parse(checkpoints.toString('utf8')) : null,
          proofs: proofs ? JSON.parse(proofs.toString('utf8')) : null,
        });
        tlog = 'verified';
      } catch (err) {
        tlog = 'failed';
        problem('AUDIT_TLOG_INVALID', `transparency log evidence does not verify: ${(err as Error).message}`);
      }
    }
  }

  const firstBadEvent = problems.find((p) => p.seq !== null) ?? null;
  const ordered = firstBadEvent ? [firstBadEvent, ...problems.filter((p) => p !== firstBadEvent)] : problems;
  return { ok: ordered.length === 0, problems: ordered, firstBadEvent, manifest: m, chain, signature, keySource, truncation, anchors: anchors.length, tlog };
}

function readManifest(files: Map<string, FileRecord>, problem: (code: AuditErrorCode, message: string) => void): BundleManifest | null {
  const bytes = files.get('manifest.json')?.content;
  if (!bytes) return null;
  try {
    return parseBundleManifest(bytes);
  } catch (err) {
    problem('AUDIT_BUNDLE_INVALID', (err as Error).message);
    return null;
  }
}

function readAnchors(files: Map<string, FileRecord>, problem: (code: AuditErrorCode, message: string) => void): AnchorRecord[] {
  const bytes = files.get('anchors.ndjson')?.content;
  if (!bytes) return [];
  const out: AnchorRecord[] = [];
  const lines = bytes.toString('utf8').split('\n').filter((l) => l.length > 0);
  for (const [i, line] of lines.entries()) {
    try {
      const a = JSON.parse(line) as AnchorRecord;
      if (!Number.isSafeInteger(a.seq) || !isHash(a.hash) || !Number.isSafeInteger(a.leaf_index)) throw new Error('needs seq, hash and leaf_index');
      out.push(a);
    } catch (err) {
      problem('AUDIT_BUNDLE_INVALID', `anchors.ndjson line ${i + 1}: ${(err as Error).message}`);
    }
  }
  return out;
}
