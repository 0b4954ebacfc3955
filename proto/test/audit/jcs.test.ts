import { describe, expect, it } from '@jest/globals';
import { AuditError, canonicalBytes, canonicalJson } from '../../src/audit/index.js';
import { codeOf } from './support.js';

// RFC 8785, Appendix B: IEEE 754 bit patterns and the text JCS must give for them.
const APPENDIX_B: readonly [string, string][] = [
  ['0000000000000000', '0'],
  ['8000000000000000', '0'],
  ['0000000000000001', '5e-324'],
  ['8000000000000001', '-5e-324'],
  ['7fefffffffffffff', '1.7976931348623157e+308'],
  ['ffefffffffffffff', '-1.7976931348623157e+308'],
  ['4340000000000000', '9007199254740992'],
  ['c340000000000000', '-9007199254740992'],
  ['4430000000000000', '295147905179352830000'],
  ['44b52d02c7e14af5', '9.999999999999997e+22'],
  ['44b52d02c7e14af6', '1e+23'],
  ['44b52d02c7e14af7', '1.0000000000000001e+23'],
  ['444b1ae4d6e2ef4e', '999999999999999700000'],
  ['444b1ae4d6e2ef4f', '999999999999999900000'],
  ['444b1ae4d6e2ef50', '1e+21'],
  ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
  ['3eb0c6f7a0b5ed8d', '0.000001'],
  ['41b3de4355555553', '333333333.3333332'],
  ['41b3de4355555554', '333333333.33333325'],
  ['41b3de4355555555', '333333333.3333333'],
  ['41b3de4355555556', '333333333.3333334'],
  ['41b3de4355555557', '333333333.33333343'],
  ['becbf647612f3696', '-0.0000033333333333333333'],
  ['43143ff3c1cb0959', '1424953923781206.2'],
];

const fromBits = (hex: string) => Buffer.from(hex, 'hex').readDoubleBE(0);

describe('JCS (RFC 8785) through canonicalJson', () => {
  it.each(APPENDIX_B)('serialises the double %s as %s (Appendix B)', (bits, expected) => {
    expect(canonicalJson(fromBits(bits))).toBe(expected);
    expect(canonicalJson([fromBits(bits)])).toBe(`[${expected}]`);
  });

  it.each(['7fffffffffffffff', '7ff0000000000000', 'fff0000000000000'])('refuses the non-finite double %s (Appendix B: NaN, Infinity)', (bits) => {
    expect(() => canonicalJson({ n: fromBits(bits) })).toThrow(AuditError);
    expect(codeOf(() => canonicalJson(fromBits(bits)))).toBe('AUDIT_CANONICALIZATION_FAILED');
  });

  it('reproduces the section 3.2.2 example (whitespace, literals, numbers, string escapes)', () => {
    // The RFC's input, as JSON text; the expected output is given byte for byte in section 3.2.4.
    const input = String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`;
    const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
    expect(canonicalJson(JSON.parse(input))).toBe(expected);
    const bytes = Buffer.from(canonicalBytes(JSON.parse(input)));
    expect(bytes.equals(Buffer.from(expected, 'utf8'))).toBe(true);
    // Section 3.2.4 prints these bytes in hex: the opening member, and the euro sign as UTF-8 (e2 82 ac).
    expect(bytes.subarray(0, 29).toString('hex')).toBe('7b226c69746572616c73223a5b6e756c6c2c747275652c66616c73655d');
    expect(bytes.toString('hex')).toContain('22e282ac24');
  });

  it('sorts members by UTF-16 code units (section 3.2.3 example)', () => {
    const input = JSON.parse(String.raw`{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }`) as Record<string, string>;
    const out = canonicalJson(input);
    const order = [...out.matchAll(/"([^"]*)":"([^"]*)"/g)].map((m) => m[2]);
    expect(order).toEqual([
      'Carriage Return', 'One', 'Control', 'Latin Small Letter O With Diaeresis', 'Euro Sign', 'Emoji: Grinning Face', 'Hebrew Letter Dalet With Dagesh',
    ]);
    expect(out.startsWith('{"\\r":"Carriage Return","1":"One","\u0080":"Control"')).toBe(true);
  });

  it('refuses lone surrogates, which have no UTF-8 form', () => {
    expect(() => canonicalJson({ s: '\ud800' })).toThrow(/canonicalized/);
  });
});
