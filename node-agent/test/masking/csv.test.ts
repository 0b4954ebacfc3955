import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { MaskingError, readCsv, writeCsv } from '../../src/masking/index.js';

describe('CSV', () => {
  it('writes what it reads: any text survives a round trip (quotes, commas, newlines)', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', '\n', '\r\n', ' ', 'é', '1') });
    fc.assert(
      fc.property(fc.array(fc.tuple(text, text), { minLength: 1, maxLength: 5 }), (rows) => {
        const safe = rows.map(([x, y]) => ({ x: x.replace(/^[=+\-@\t\r]/, 'a'), y: y.replace(/^[=+\-@\t\r]/, 'a') }));
        const csv = writeCsv(['x', 'y'], safe);
        const back = readCsv(csv);
        expect(back.columns).toEqual(['x', 'y']);
        expect(back.records).toEqual(safe);
      }),
      { numRuns: 200 },
    );
  });

  it('neutralises spreadsheet formulas but leaves negative numbers alone', () => {
    const csv = writeCsv(['a', 'b', 'c'], [{ a: '=HYPERLINK("http://x")', b: '-12.5', c: '@SUM(A1)' }]);
    expect(csv).toBe('a,b,c\r\n"\'=HYPERLINK(""http://x"")",-12.5,\'@SUM(A1)\r\n');
  });

  it('refuses malformed input without echoing its content', () => {
    for (const bad of ['a,b\n1,2,3\n', 'a,a\n1,2\n', '', 'a,b\n"unterminated SECRET-VALUE,2\n']) {
      try {
        readCsv(bad);
        throw new Error('accepted');
      } catch (error) {
        expect(error).toBeInstanceOf(MaskingError);
        expect((error as MaskingError).code).toBe('MASK_INVALID_CSV');
        expect((error as Error).message).not.toContain('SECRET-VALUE');
      }
    }
  });
});
