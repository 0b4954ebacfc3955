import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { LineSplitter } from '../../src/audit/index.js';

describe('LineSplitter', () => {
  it('gives back the same lines however the bytes are chunked, multi-byte characters included', () => {
    fc.assert(fc.property(
      fc.array(fc.string({ unit: 'grapheme' }).map((s) => s.replace(/\n/g, '')), { maxLength: 20 }),
      fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 10 }),
      (lines, cuts) => {
        const bytes = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
        const got: string[] = [];
        const s = new LineSplitter((l) => got.push(l));
        let at = 0;
        for (let i = 0; at < bytes.length; i++) {
          const size = cuts[i % cuts.length]!;
          s.push(bytes.subarray(at, at + size));
          at += size;
        }
        s.end();
        expect(got).toEqual(lines);
      }));
  });

  it('flushes a last line without a newline', () => {
    const got: string[] = [];
    const s = new LineSplitter((l) => got.push(l));
    s.push(Buffer.from('a\nb'));
    s.end();
    expect(got).toEqual(['a', 'b']);
  });
});
