import { chainHashOfCanonical, eventOf, GENESIS_PREV_HASH, isHash } from '../hash.js';
import { eventTextOfEntry } from '../entry-text.js';
import { canonicalJson } from '../jcs.js';
import type { VerifyProblem } from './problem.js';

export interface ChainStart {
  /** The sequence number the first entry must carry. */
  readonly seq: number;
  /** The prev_hash the first entry must carry (64 zeros at genesis; a truncation anchor's hash after a purge). */
  readonly prevHash: string;
}

export interface ChainVerifierOptions {
  /** Default: the genesis (seq 1, 64 zeros). */
  readonly start?: ChainStart;
  /** Anchored heads (seq → hash) the chain must pass through. */
  readonly anchors?: ReadonlyMap<number, string>;
  /** Require each line to be exactly the RFC 8785 form of its entry (bundles: one byte form per entry). */
  readonly canonicalLines?: boolean;
  /** Accept `{seq, prev_hash, hash}` entries (outside an export's filter) whose content is withheld. */
  readonly allowHashOnly?: boolean;
}

export interface ChainSummary {
  /** Entries seen, hash-only ones included. */
  readonly entries: number;
  readonly hashOnly: number;
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
  readonly firstPrevHash: string | null;
  readonly lastHash: string | null;
}

export interface ChainVerdict {
  readonly ok: boolean;
  /** The first problem in chain order; later ones are not looked for. */
  readonly problem: VerifyProblem | null;
  readonly summary: ChainSummary;
}

const HASH_ONLY_KEYS = 'hash,prev_hash,seq';

/**
 * Streaming verifier of one contiguous run of the chain: feed entries in order (lines of
 * events.ndjson or rows of the store), then `finish`. Memory stays constant whatever the length.
 * The first problem wins: it names the first bad event, and later input is ignored.
 */
export class AuditChainVerifier {
  readonly #anchors: ReadonlyMap<number, string>;
  readonly #canonicalLines: boolean;
  readonly #allowHashOnly: boolean;
  readonly #start: ChainStart;
  #expectedSeq: number;
  #prevHash: string;
  #line = 0;
  #entries = 0;
  #hashOnly = 0;
  #firstSeq: number | null = null;
  #firstPrevHash: string | null = null;
  #lastHash: string | null = null;
  #problem: VerifyProblem | null = null;
  #anchorsSeen = 0;

  constructor(options: ChainVerifierOptions = {}) {
    this.#start = options.start ?? { seq: 1, prevHash: GENESIS_PREV_HASH };
    this.#anchors = options.anchors ?? new Map();
    this.#canonicalLines = options.canonicalLines ?? false;
    this.#allowHashOnly = options.allowHashOnly ?? false;
    this.#expectedSeq = this.#start.seq;
    this.#prevHash = this.#start.prevHash;
  }

  get problem(): VerifyProblem | null {
    return this.#problem;
  }

  /** One NDJSON line (without its newline). Returns false once a problem has been found. */
  pushLine(line: string): boolean {
    if (this.#problem) return false;
    this.#line++;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return this.#fail('AUDIT_ENTRY_MALFORMED', this.#expectedSeq, 'the line is not JSON');
    }
    return this.#check(value, line);
  }

  /** One already-parsed entry (for example a row of the store). */
  pushEntry(value: unknown): boolean {
    if (this.#problem) return false;
    this.#line++;
    return this.#check(value, null);
  }

  #check(value: unknown, line: string | null): boolean {
    try {
      return this.#checkEntry(value, line);
    } catch (err) {
      // Canonicalisation refuses what JCS cannot represent (a lone surrogate, say): a bad entry, not a crash.
      return this.#fail('AUDIT_ENTRY_MALFORMED', this.#expectedSeq, `the entry cannot be canonicalised: ${(err as Error).message}`);
    }
  }

  #checkEntry(value: unknown, line: string | null): boolean {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return this.#fail('AUDIT_ENTRY_MALFORMED', this.#expectedSeq, 'the entry is not a JSON object');
    }
    const entry = value as Record<string, unknown>;
    const seq = entry['seq'];
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) {
      return this.#fail('AUDIT_ENTRY_MALFORMED', this.#expectedSeq, `the entry has no valid "seq" (got ${JSON.stringify(seq) ?? 'nothing'})`);
    }
    if (!isHash(entry['prev_hash']) || !isHash(entry['hash'])) {
      return this.#fail('AUDIT_ENTRY_MALFORMED', seq, '"prev_hash" and "hash" must be 64 lowercase hex characters');
    }
    const prevHash = entry['prev_hash'];
    const hash = entry['hash'];
    const canonicalLine = line !== null && this.#canonicalLines;
    if (canonicalLine && canonicalJson(entry) !== line) {
      return this.#fail('AUDIT_ENTRY_NOT_CANONICAL', seq, 'the line is not the RFC 8785 canonical form of its entry (re-serialised or edited)');
    }
    if (seq > this.#expectedSeq) {
      const gap = seq - this.#expectedSeq === 1 ? `seq ${this.#expectedSeq} is missing` : `seq ${this.#expectedSeq} to ${seq - 1} are missing`;
      return this.#fail('AUDIT_SEQ_MISSING', this.#expectedSeq, `${gap}: the next entry present has seq ${seq}`);
    }
    if (seq < this.#expectedSeq) {
      return this.#fail('AUDIT_SEQ_OUT_OF_ORDER', seq, `seq ${seq} appears where seq ${this.#expectedSeq} was expected (repeated, reordered or inserted)`);
    }
    if (prevHash !== this.#prevHash) {
      if (this.#entries === 0) {
        return this.#fail('AUDIT_CHAIN_START_MISMATCH', seq, `the first entry's prev_hash ${prevHash} is not ${this.#prevHash}, where the chain must start (genesis, truncation anchor or manifest)`);
      }
      return this.#fail('AUDIT_CHAIN_BROKEN', seq, `prev_hash ${prevHash} is not the hash of seq ${seq - 1} (${this.#prevHash}): seq ${seq - 1} or seq ${seq} was altered, replaced or inserted`);
    }
    const hashOnly = this.#allowHashOnly && Object.keys(entry).sort().join(',') === HASH_ONLY_KEYS;
    if (!hashOnly) {
      // The line is canonical, so the event's JCS is the line without its two chain members.
      const eventJcs = (canonicalLine ? eventTextOfEntry(line, prevHash, hash) : null) ?? canonicalJson(eventOf(entry));
      const computed = chainHashOfCanonical(prevHash, eventJcs);
      if (computed !== hash) {
        return this.#fail('AUDIT_HASH_MISMATCH', seq, `the hash ${hash} does not match the content (SHA-256(prev_hash || JCS(event)) = ${computed}): the event was edited`);
      }
    } else {
      this.#hashOnly++;
    }
    const anchored = this.#anchors.get(seq);
    if (anchored !== undefined) {
      if (anchored !== hash) {
        return this.#fail('AUDIT_ANCHOR_MISMATCH', seq, `the hash ${hash} differs from the anchored head ${anchored} recorded for this seq`);
      }
      this.#anchorsSeen++;
    }
    if (this.#entries === 0) {
      this.#firstSeq = seq;
      this.#firstPrevHash = prevHash;
    }
    this.#entries++;
    this.#expectedSeq = seq + 1;
    this.#prevHash = hash;
    this.#lastHash = hash;
    return true;
  }

  /** Ends the run. With `end`, the run must stop exactly at that seq and hash (a signed head or manifest). */
  finish(end?: { readonly seq: number; readonly hash: string } | null): ChainVerdict {
    if (!this.#problem && end) {
      const lastSeq = this.#expectedSeq - 1;
      if (lastSeq < end.seq) {
        const first = lastSeq + 1;
        this.#fail('AUDIT_CHAIN_END_MISMATCH', first, `the chain ends at seq ${lastSeq} but the signed head is seq ${end.seq}: seq ${first}${end.seq > first ? ` to ${end.seq}` : ''} missing (truncated)`, null);
      } else if (lastSeq > end.seq) {
        this.#fail('AUDIT_CHAIN_END_MISMATCH', end.seq + 1, `the chain continues past the signed head seq ${end.seq} (to seq ${lastSeq})`, null);
      } else if (this.#prevHash !== end.hash) {
        this.#fail('AUDIT_CHAIN_END_MISMATCH', lastSeq, `the last hash ${this.#prevHash} is not the signed head hash ${end.hash}`, null);
      }
    }
    if (!this.#problem && this.#anchorsSeen < this.#anchors.size) {
      const covered = (s: number) => s >= this.#start.seq && s < this.#expectedSeq;
      const missing = [...this.#anchors.keys()].filter((s) => !covered(s)).sort((a, b) => a - b)[0];
      if (missing !== undefined) {
        this.#fail('AUDIT_ANCHOR_MISMATCH', missing, `an anchor names seq ${missing}, which is not in the verified range ${this.#start.seq}..${this.#expectedSeq - 1}`, null);
      }
    }
    return { ok: this.#problem === null, problem: this.#problem, summary: this.summary() };
  }

  summary(): ChainSummary {
    return {
      entries: this.#entries,
      hashOnly: this.#hashOnly,
      firstSeq: this.#firstSeq,
      lastSeq: this.#entries > 0 ? this.#expectedSeq - 1 : null,
      firstPrevHash: this.#firstPrevHash,
      lastHash: this.#lastHash,
    };
  }

  #fail(code: VerifyProblem['code'], seq: number, message: string, line: number | null = this.#line): false {
    this.#problem = { code, seq, line, message };
    return false;
  }
}
