import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { AnchorRecord } from '../anchor.js';
import type { AuditErrorCode } from '../errors.js';
import { GENESIS_PREV_HASH, isHash } from '../hash.js';
import { AuditChainVerifier, type ChainVerdict } from '../verify/chain-verifier.js';
import { LineSplitter } from '../verify/line-splitter.js';
import type { VerifyProblem } from '../verify/problem.js';
import { AUDIT_BUNDLE_FILES, bundleFileOrder, bundleFileSpec } from './layout.js';
import { parseBundleManifest, type BundleManifest } from './manifest.js';
import { readTarGz } from './tar.js';

export interface BundleFile {
  readonly sha256: string;
  readonly bytes: number;
  /** The content of small files; null for the streamed ones (events, CSV, reports). */
  readonly content: Buffer | null;
}

export interface ReadBundle {
  readonly files: ReadonlyMap<string, BundleFile>;
  readonly manifest: BundleManifest | null;
  readonly anchors: readonly AnchorRecord[];
  /** The chain check of events.ndjson against the manifest's ends and the anchors; null without events. */
  readonly chain: ChainVerdict | null;
  /** Layout, parsing and chain problems, in the order found (the chain problem, if any, first). */
  readonly problems: readonly VerifyProblem[];
}

/**
 * Streams a bundle once: checks its layout, hashes every file, keeps the small ones, and pushes
 * events.ndjson line by line through the chain verifier, which the manifest, the truncation point
 * and the anchors (all earlier in the archive) configure.
 */
export async function readAuditBundle(source: string | Readable): Promise<ReadBundle> {
  const problems: VerifyProblem[] = [];
  const problem = (code: AuditErrorCode, message: string) => { problems.push({ code, seq: null, line: null, message }); };
  const files = new Map<string, BundleFile>();
  let lastOrder = -1;
  let manifest: BundleManifest | null = null;
  let manifestRead = false;
  let anchors: AnchorRecord[] = [];
  let verifier: AuditChainVerifier | null = null;

  const readManifestOnce = (): BundleManifest | null => {
    if (!manifestRead) {
      manifestRead = true;
      manifest = parseManifest(files, problem);
    }
    return manifest;
  };

  const startEvents = (): AuditChainVerifier => {
    const m = readManifestOnce();
    anchors = parseAnchors(files, problem);
    if (m?.chain.first_seq === 1 && m.chain.first_prev_hash !== GENESIS_PREV_HASH) {
      problems.push({ code: 'AUDIT_CHAIN_START_MISMATCH', seq: 1, line: 1, message: 'seq 1 must follow the genesis (prev_hash of 64 zeros)' });
    }
    const start = m && m.chain.first_seq !== null && m.chain.first_prev_hash !== null ? { seq: m.chain.first_seq, prevHash: m.chain.first_prev_hash } : undefined;
    return new AuditChainVerifier({ ...(start ? { start } : {}), anchors: new Map(anchors.map((a) => [a.seq, a.hash])), canonicalLines: true, allowHashOnly: true });
  };

  try {
    await readTarGz(source, ({ name, type, size }) => {
      const ignore = { onData: () => {}, onEnd: () => {} };
      const spec = bundleFileSpec(name);
      const order = bundleFileOrder(name);
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
      const chunks: Buffer[] = [];
      let bytes = 0;
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
          else splitter?.push(chunk);
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
  const m = readManifestOnce();
  const chain = verifier ? finishChain(verifier, m, problems) : null;
  return { files, manifest: m, anchors, chain, problems };
}

/** Ends the chain check at the manifest's signed end and compares the counts. */
function finishChain(verifier: AuditChainVerifier, m: BundleManifest | null, problems: VerifyProblem[]): ChainVerdict {
  const end = m && m.chain.last_seq !== null && m.chain.last_hash !== null ? { seq: m.chain.last_seq, hash: m.chain.last_hash } : null;
  const verdict = verifier.finish(end);
  const s = verdict.summary;
  if (verdict.problem) problems.unshift(verdict.problem);
  else if (m && m.chain.last_seq === null && s.entries > 0) {
    problems.unshift({ code: 'AUDIT_CHAIN_END_MISMATCH', seq: s.firstSeq, line: 1, message: 'the manifest says the range is empty but events.ndjson has entries' });
  } else if (m && (s.entries !== m.chain.entries || s.hashOnly !== m.chain.hash_only)) {
    problems.push({ code: 'AUDIT_CHAIN_END_MISMATCH', seq: null, line: null, message: `events.ndjson holds ${s.entries} entries (${s.hashOnly} hash-only); the manifest says ${m.chain.entries} (${m.chain.hash_only})` });
  }
  return verdict;
}

function parseManifest(files: ReadonlyMap<string, BundleFile>, problem: (code: AuditErrorCode, message: string) => void): BundleManifest | null {
  const bytes = files.get('manifest.json')?.content;
  if (!bytes) return null;
  try {
    return parseBundleManifest(bytes);
  } catch (err) {
    problem('AUDIT_BUNDLE_INVALID', (err as Error).message);
    return null;
  }
}

function parseAnchors(files: ReadonlyMap<string, BundleFile>, problem: (code: AuditErrorCode, message: string) => void): AnchorRecord[] {
  const bytes = files.get('anchors.ndjson')?.content;
  if (!bytes) return [];
  const out: AnchorRecord[] = [];
  for (const [i, line] of bytes.toString('utf8').split('\n').filter((l) => l.length > 0).entries()) {
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
