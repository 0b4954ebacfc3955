import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { AuditChainVerifier, chainHash, eventOf, linkEntry, type AuditEntry, type AuditEvent } from '../../src/audit/index.js';
import { lineOf, makeChain } from './support.js';

function verify(lines: readonly string[], options: ConstructorParameters<typeof AuditChainVerifier>[0] = {}, end?: { seq: number; hash: string }) {
  const v = new AuditChainVerifier({ canonicalLines: true, allowHashOnly: true, ...options });
  for (const l of lines) v.pushLine(l);
  return v.finish(end ?? null);
}

const edited = (e: AuditEntry): AuditEntry => ({ ...e, actor: 'user:eve@elsewhere' });
const rehashed = (e: AuditEntry): AuditEntry => ({ ...e, hash: chainHash(e.prev_hash, eventOf(e)) });

type Tamper = 'edit' | 'edit-rehash' | 'delete' | 'reorder' | 'insert' | 'truncate-tail' | 'truncate-head';

/** Applies one tamper at seq k and says where verification must first fail. */
function tamper(chain: AuditEntry[], op: Tamper, k: number): { lines: string[]; code: string; seq: number } {
  const n = chain.length;
  const lines = chain.map(lineOf);
  switch (op) {
    case 'edit':
      lines[k - 1] = lineOf(edited(chain[k - 1]!));
      return { lines, code: 'AUDIT_HASH_MISMATCH', seq: k };
    case 'edit-rehash':
      lines[k - 1] = lineOf(rehashed(edited(chain[k - 1]!)));
      return k < n ? { lines, code: 'AUDIT_CHAIN_BROKEN', seq: k + 1 } : { lines, code: 'AUDIT_CHAIN_END_MISMATCH', seq: n };
    case 'delete':
      lines.splice(k - 1, 1);
      return k < n ? { lines, code: 'AUDIT_SEQ_MISSING', seq: k } : { lines, code: 'AUDIT_CHAIN_END_MISMATCH', seq: n };
    case 'reorder': {
      const kk = Math.min(k, n - 1);
      [lines[kk - 1], lines[kk]] = [lines[kk]!, lines[kk - 1]!];
      return { lines, code: 'AUDIT_SEQ_MISSING', seq: kk };
    }
    case 'insert': {
      // A well-formed forgery: right seq, linked to its predecessor, correct hash.
      const prev = k === 1 ? '0'.repeat(64) : chain[k - 2]!.hash;
      const forged = linkEntry(prev, { ...(eventOf(chain[k - 1]!) as AuditEvent), actor: 'user:eve@elsewhere' });
      lines.splice(k - 1, 0, lineOf(forged));
      return { lines, code: 'AUDIT_SEQ_OUT_OF_ORDER', seq: k };
    }
    case 'truncate-tail':
      lines.splice(k - 1);
      return { lines, code: 'AUDIT_CHAIN_END_MISMATCH', seq: k };
    case 'truncate-head': {
      const kk = Math.max(k, 2);
      lines.splice(0, kk - 1);
      return { lines, code: 'AUDIT_SEQ_MISSING', seq: 1 };
    }
  }
}

describe('AuditChainVerifier', () => {
  it('accepts an intact chain and summarises it', () => {
    const chain = makeChain(12);
    const verdict = verify(chain.map(lineOf), {}, { seq: 12, hash: chain[11]!.hash });
    expect(verdict.ok).toBe(true);
    expect(verdict.summary).toEqual({ entries: 12, hashOnly: 0, firstSeq: 1, lastSeq: 12, firstPrevHash: '0'.repeat(64), lastHash: chain[11]!.hash });
  });

  it.each<[Tamper, number]>([
    ['edit', 5], ['edit', 1], ['edit', 10], ['edit-rehash', 4], ['edit-rehash', 10], ['delete', 3], ['delete', 10],
    ['reorder', 6], ['insert', 7], ['insert', 1], ['truncate-tail', 8], ['truncate-head', 4],
  ])('fails at exactly the first affected event: %s at seq %i', (op, k) => {
    const chain = makeChain(10);
    const t = tamper(chain, op, k);
    const verdict = verify(t.lines, {}, { seq: 10, hash: chain[9]!.hash });
    expect(verdict.ok).toBe(false);
    expect({ code: verdict.problem?.code, seq: verdict.problem?.seq }).toEqual({ code: t.code, seq: t.seq });
  });

  it('catches every single tamper at its first affected event (property)', () => {
    const ops: Tamper[] = ['edit', 'edit-rehash', 'delete', 'reorder', 'insert', 'truncate-tail', 'truncate-head'];
    fc.assert(fc.property(fc.integer({ min: 2, max: 25 }), fc.constantFrom(...ops), fc.nat(), (n, op, r) => {
      const chain = makeChain(n);
      const k = 1 + (r % n);
      const t = tamper(chain, op, k);
      const verdict = verify(t.lines, {}, { seq: n, hash: chain[n - 1]!.hash });
      expect({ code: verdict.problem?.code, seq: verdict.problem?.seq }).toEqual({ code: t.code, seq: t.seq });
    }), { numRuns: 150 });
  });

  it('verifies across hash-only entries, and catches a changed hash-only link', () => {
    const chain = makeChain(6);
    const lines = chain.map((e, i) => (i % 2 === 1 ? lineOf({ seq: e.seq, prev_hash: e.prev_hash, hash: e.hash }) : lineOf(e)));
    const ok = verify(lines, {}, { seq: 6, hash: chain[5]!.hash });
    expect([ok.ok, ok.summary.hashOnly]).toEqual([true, 3]);
    const bad = [...lines];
    bad[1] = lineOf({ seq: 2, prev_hash: chain[1]!.prev_hash, hash: 'f'.repeat(64) });
    expect(verify(bad).problem).toMatchObject({ code: 'AUDIT_CHAIN_BROKEN', seq: 3 });
  });

  it('refuses hash-only entries where content is required (the store)', () => {
    const chain = makeChain(3);
    const v = new AuditChainVerifier();
    v.pushEntry(chain[0]);
    v.pushEntry({ seq: 2, prev_hash: chain[1]!.prev_hash, hash: chain[1]!.hash });
    expect(v.finish().problem).toMatchObject({ code: 'AUDIT_HASH_MISMATCH', seq: 2 });
  });

  it('refuses a re-serialised line (one byte form per entry) and a line that is not JSON', () => {
    const chain = makeChain(4);
    const spaced = chain.map(lineOf);
    spaced[2] = JSON.stringify(chain[2], null, 1).replace(/\n/g, ' ');
    expect(verify(spaced).problem).toMatchObject({ code: 'AUDIT_ENTRY_NOT_CANONICAL', seq: 3, line: 3 });
    const garbage = chain.map(lineOf);
    garbage[1] = '{"seq":2,';
    expect(verify(garbage).problem).toMatchObject({ code: 'AUDIT_ENTRY_MALFORMED', seq: 2, line: 2 });
    const surrogate = chain.map(lineOf);
    surrogate[2] = surrogate[2]!.replace('"req-3"', '"\\ud800"');
    expect(verify(surrogate).problem).toMatchObject({ code: 'AUDIT_ENTRY_MALFORMED', seq: 3, line: 3 });
  });

  it('starts where it is told (a truncation anchor) and refuses any other start', () => {
    const chain = makeChain(8);
    const tail = chain.slice(3).map(lineOf);
    expect(verify(tail, { start: { seq: 4, prevHash: chain[2]!.hash } }).ok).toBe(true);
    expect(verify(tail, { start: { seq: 4, prevHash: 'e'.repeat(64) } }).problem).toMatchObject({ code: 'AUDIT_CHAIN_START_MISMATCH', seq: 4 });
  });

  it('checks anchored heads, and an anchor outside the range', () => {
    const chain = makeChain(8);
    const lines = chain.map(lineOf);
    expect(verify(lines, { anchors: new Map([[5, chain[4]!.hash]]) }).ok).toBe(true);
    expect(verify(lines, { anchors: new Map([[5, 'a'.repeat(64)]]) }).problem).toMatchObject({ code: 'AUDIT_ANCHOR_MISMATCH', seq: 5 });
    expect(verify(lines, { anchors: new Map([[9, chain[7]!.hash]]) }).problem).toMatchObject({ code: 'AUDIT_ANCHOR_MISMATCH', seq: 9 });
  });

  it('detects a consistently rewritten history through an anchor', () => {
    const chain = makeChain(8);
    // Rewrite seq 3 and re-link everything after it: every local check passes again...
    const rewritten: AuditEntry[] = chain.slice(0, 2);
    for (const e of chain.slice(2)) {
      const prev = rewritten[rewritten.length - 1]!.hash;
      const event = e.seq === 3 ? { ...(eventOf(e) as AuditEvent), actor: 'user:eve@elsewhere' } : (eventOf(e) as AuditEvent);
      rewritten.push(linkEntry(prev, event));
    }
    const lines = rewritten.map(lineOf);
    expect(verify(lines).ok).toBe(true);
    // ...but the head anchored in the transparency log at seq 6 no longer matches.
    expect(verify(lines, { anchors: new Map([[6, chain[5]!.hash]]) }).problem).toMatchObject({ code: 'AUDIT_ANCHOR_MISMATCH', seq: 6 });
  });
});
