import type { Readable } from 'node:stream';
import type { JSONWebKeySet } from 'jose';
import type { TlogEvidenceVerifier } from '../anchor.js';
import type { ChainSummary } from '../verify/chain-verifier.js';
import type { VerifyProblem } from '../verify/problem.js';
import { checkFileDigests, checkManifestSignature, checkTlog, checkTruncation, type CheckState } from './check-bundle.js';
import { parseJwks } from './jws.js';
import type { BundleManifest } from './manifest.js';
import { readAuditBundle } from './read-bundle.js';
import { checkTlogTail } from './tlog-tail.js';

export interface BundleVerifyOptions {
  /**
   * Trusted public keys of the coordinator. Without them the bundle's own jwks.json is used, which
   * proves the bundle is unchanged since it was signed but not who signed it.
   */
  readonly jwks?: JSONWebKeySet;
  /** The transparency-log verifier; without it, checkpoints and proofs are reported as unchecked. */
  readonly verifyTlog?: TlogEvidenceVerifier;
  /**
   * The transparency log's pinned verifier key. With it the bundle must carry the log's tail after
   * its last anchor (tlog-tail.json), and no entry anchored in that tail may be missing from it.
   */
  readonly pinnedLogKey?: string;
}

export interface BundleVerifyReport {
  readonly ok: boolean;
  /** Every problem found; the first bad event (if any) first. */
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
  /** Completeness against the log's tail: checked only under a pinned log key. */
  readonly tail: CheckState;
  /**
   * verified: both the manifest keys and the log key were pinned, so the checks prove who made the
   * bundle and that it ends where the log says; unverified: they prove integrity only.
   */
  readonly origin: 'verified' | 'unverified';
}

/**
 * Verifies a compliance bundle offline: chain continuity, hashes, sequence numbers and anchors
 * (streamed, constant memory), file digests against the manifest, the manifest's and the truncation
 * anchor's signatures, and the transparency-log evidence through an injected verifier.
 */
export async function verifyAuditBundle(source: string | Readable, options: BundleVerifyOptions = {}): Promise<BundleVerifyReport> {
  const read = await readAuditBundle(source);
  const problems: VerifyProblem[] = [...read.problems];
  const m = read.manifest;
  if (m) problems.push(...checkFileDigests(m, read.files));

  let jwks: JSONWebKeySet | null = options.jwks ?? null;
  const bundleJwks = read.files.get('jwks.json')?.content;
  if (!jwks && bundleJwks) {
    try {
      jwks = parseJwks(bundleJwks, 'jwks.json');
    } catch (err) {
      problems.push({ code: 'AUDIT_BUNDLE_INVALID', seq: null, line: null, message: (err as Error).message });
    }
  }
  const signature = await checkManifestSignature(read.files, jwks);
  const truncation = await checkTruncation(m, read.files, jwks);
  const tlog = await checkTlog(read.anchors, read.files, options.verifyTlog);
  const tail = options.pinnedLogKey
    ? checkTlogTail(read.files, options.pinnedLogKey, { manifest: m, anchors: read.anchors, manifestPinned: options.jwks !== undefined && signature.state === 'verified' })
    : { state: 'unchecked' as const, problems: [] };
  problems.push(...signature.problems, ...truncation.problems, ...tlog.problems, ...tail.problems);

  const firstBadEvent = problems.find((p) => p.seq !== null) ?? null;
  const ordered = firstBadEvent ? [firstBadEvent, ...problems.filter((p) => p !== firstBadEvent)] : problems;
  return {
    ok: ordered.length === 0, problems: ordered, firstBadEvent, manifest: m, chain: read.chain?.summary ?? null,
    signature: signature.state, keySource: options.jwks ? 'pinned' : 'bundle', truncation: truncation.state, anchors: read.anchors.length, tlog: tlog.state,
    tail: tail.state, origin: options.jwks && options.pinnedLogKey ? 'verified' : 'unverified',
  };
}
