import { fromBase64, fromHex, hashLeaf, noteVerifier, rootFromFrontier, equalHashes, verifyCheckpoint } from '../../tlog/index.js';
import { AUDIT_ANCHOR_TYPE, type AnchorRecord } from '../anchor.js';
import type { AuditErrorCode } from '../errors.js';
import type { CheckResult } from './check-bundle.js';
import type { BundleManifest } from './manifest.js';
import type { BundleFile } from './read-bundle.js';

/** The most log leaves an export writes into tlog-tail.json; a longer tail is left out (and refused under a pinned log key). */
export const TLOG_TAIL_MAX_LEAVES = 100_000;

/**
 * tlog-tail.json: every log leaf from `start` (just after the last anchor in the bundle) to the
 * checkpoint's size, and the frontier of the tree of `start` leaves. Together they recompute the
 * checkpoint's root, so they are exactly the log's leaves after the bundle's last anchor.
 */
export interface TlogTailJson {
  readonly start: number;
  /** The complete subtree hashes of the tree of `start` leaves, left to right, hex. */
  readonly frontier: readonly string[];
  /** The leaves start..tree_size-1, base64. */
  readonly leaves: readonly string[];
}

/** What the verifier needs to know about the manifest to accept anchored entries beyond the bundle. */
export interface TailContext {
  readonly manifest: BundleManifest | null;
  readonly anchors: readonly AnchorRecord[];
  /** The manifest signature verified against pinned keys: only then may it declare a range that ends early. */
  readonly manifestPinned: boolean;
}

const problem = (code: AuditErrorCode, message: string): CheckResult => ({ state: 'failed', problems: [{ code, seq: null, line: null, message }] });

function parseJson(file: BundleFile | undefined): unknown {
  if (!file?.content) return null;
  try {
    return JSON.parse(file.content.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** The chain position an audit-anchor leaf commits to, or null for any other leaf. */
function anchoredSeq(leaf: Uint8Array): number | null {
  try {
    const v = JSON.parse(Buffer.from(leaf).toString('utf8')) as { type?: unknown; seq?: unknown };
    return v?.type === AUDIT_ANCHOR_TYPE && Number.isSafeInteger(v.seq) ? (v.seq as number) : null;
  } catch {
    return null;
  }
}

/** The highest chain position an audit anchor in the tail commits to, with its leaf index; null when none. */
export function lastAnchorInTail(tail: TlogTailJson): { seq: number; leaf: number } | null {
  let last: { seq: number; leaf: number } | null = null;
  tail.leaves.forEach((text, i) => {
    const leaf = fromBase64(String(text));
    const seq = leaf ? anchoredSeq(leaf) : null;
    if (seq !== null && (!last || seq > last.seq)) last = { seq, leaf: tail.start + i };
  });
  return last;
}

/**
 * Completeness under a pinned log key: the tail must recompute the root of the checkpoint the
 * pinned key signed, start no later than just after the bundle's last anchor, and hold no audit
 * anchor beyond the bundle's last entry (unless a pinned-signed manifest declares a range that ends
 * earlier). Fails closed: no checkpoint, no tail or an over-long tail is refused.
 */
export function checkTlogTail(files: ReadonlyMap<string, BundleFile>, pinnedLogKey: string, ctx: TailContext): CheckResult {
  const m = ctx.manifest;
  if (!m) return problem('AUDIT_TLOG_TAIL_MISSING', 'no readable manifest, so completeness against the log cannot be checked');
  const checkpoints = parseJson(files.get('checkpoints.json')) as { checkpoint?: unknown } | null | undefined;
  if (!checkpoints || typeof checkpoints.checkpoint !== 'string') {
    return problem('AUDIT_TLOG_TAIL_MISSING', 'the bundle carries no log checkpoint, so with a pinned log key its completeness cannot be checked; export it again from the coordinator');
  }
  const tail = parseJson(files.get('tlog-tail.json')) as Partial<TlogTailJson> | null | undefined;
  if (tail === null) {
    return problem('AUDIT_TLOG_TAIL_MISSING', 'the bundle has no tlog-tail.json (made before log tails were exported, or its tail was over the cap), so with a pinned log key its completeness cannot be checked; export it again');
  }
  if (!tail || !Number.isSafeInteger(tail.start) || !Array.isArray(tail.frontier) || !Array.isArray(tail.leaves)) {
    return problem('AUDIT_TLOG_TAIL_INVALID', 'tlog-tail.json needs {"start", "frontier": [...], "leaves": [...]}');
  }
  if (tail.leaves.length > TLOG_TAIL_MAX_LEAVES) {
    return problem('AUDIT_TLOG_TAIL_MISSING', `tlog-tail.json holds ${tail.leaves.length} leaves, more than the ${TLOG_TAIL_MAX_LEAVES} allowed`);
  }
  let size: number;
  let rootHash: Uint8Array;
  let leaves: Uint8Array[];
  try {
    ({ checkpoint: { size, rootHash } } = verifyCheckpoint(checkpoints.checkpoint, noteVerifier(pinnedLogKey)));
    const frontier = tail.frontier.map((h) => fromHex(String(h)) ?? fail('a frontier hash is not hex'));
    leaves = tail.leaves.map((l) => fromBase64(String(l)) ?? fail('a tail leaf is not base64'));
    if (tail.start! + leaves.length !== size) fail(`the tail covers leaves ${tail.start}..${tail.start! + leaves.length - 1}, the checkpoint ${size} leaves`);
    if (!equalHashes(rootFromFrontier(tail.start!, frontier, leaves.map(hashLeaf)), rootHash)) fail('frontier and leaves do not recompute the root of the pinned checkpoint');
  } catch (err) {
    return problem('AUDIT_TLOG_TAIL_INVALID', `tlog-tail.json does not verify against the pinned log key: ${(err as Error).message}`);
  }
  const lastSeq = m.chain.last_seq ?? (m.chain.first_seq === null ? 0 : m.chain.first_seq - 1);
  const lastAnchorLeaf = ctx.anchors.reduce((max, a) => Math.max(max, a.leaf_index), -1);
  if (tail.start! > lastAnchorLeaf + 1) {
    // An export's tail starts right after its last anchor: leaves in between were cut out with their entries.
    const last = gapAnchors(files, lastAnchorLeaf + 1, tail.start!).filter((p) => p.seq > lastSeq).sort((a, b) => b.seq - a.seq)[0];
    const hint = last
      ? `entries ${lastSeq + 1}..${last.seq} are anchored in the log (leaf ${last.leaf_index}) but missing from the bundle`
      : `entries after seq ${lastSeq} cannot be shown complete`;
    return problem('AUDIT_BUNDLE_TRUNCATED', `${hint}: log leaves ${lastAnchorLeaf + 1}..${tail.start! - 1}, after the bundle's last anchor, are in neither its anchors nor its log tail${last ? ' (proofs.json names the anchors there)' : ''}`);
  }
  const found = lastAnchorInTail(tail as TlogTailJson);
  if (!found || found.seq <= lastSeq) return { state: 'verified', problems: [] };
  if (m.filter.to !== null && ctx.manifestPinned) return { state: 'verified', problems: [] };
  const range = found.seq === lastSeq + 1 ? `entry ${found.seq} is` : `entries ${lastSeq + 1}..${found.seq} are`;
  const why = m.filter.to !== null ? ' (the manifest declares a range, but its signature is not checked against pinned keys)' : '';
  return problem('AUDIT_BUNDLE_TRUNCATED', `${range} anchored in the log (leaf ${found.leaf}) but missing from the bundle${why}`);
}

/** The anchors proofs.json lists at leaves [from, to): unauthenticated, used only to name what is missing. */
function gapAnchors(files: ReadonlyMap<string, BundleFile>, from: number, to: number): { seq: number; leaf_index: number }[] {
  const proofs = parseJson(files.get('proofs.json')) as { inclusion?: unknown } | null | undefined;
  if (!proofs || !Array.isArray(proofs.inclusion)) return [];
  return (proofs.inclusion as { seq?: unknown; leaf_index?: unknown }[])
    .filter((p): p is { seq: number; leaf_index: number } => Number.isSafeInteger(p?.seq) && Number.isSafeInteger(p?.leaf_index))
    .filter((p) => p.leaf_index >= from && p.leaf_index < to);
}

function fail(why: string): never {
  throw new Error(why);
}
