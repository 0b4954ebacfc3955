import { describe, expect, it } from '@jest/globals';
import {
  compareProtocolVersions, formatProtocolVersion, isServed, parseProtocolVersion, PRODUCT_VERSION, PROTOCOL_VERSION, servedVersions,
  type ProtocolVersion,
} from '@medfed/proto';

const v = (text: string): ProtocolVersion => {
  const parsed = parseProtocolVersion(text);
  if (!parsed) throw new Error(`not a version: ${text}`);
  return parsed;
};

describe('protocol version', () => {
  it('is MAJOR.MINOR, announced beside the product version', () => {
    expect(parseProtocolVersion(PROTOCOL_VERSION)).not.toBeNull();
    expect(PRODUCT_VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('parses MAJOR.MINOR and nothing else', () => {
    expect(parseProtocolVersion('1.2')).toEqual({ major: 1, minor: 2 });
    expect(parseProtocolVersion('0.0')).toEqual({ major: 0, minor: 0 });
    expect(parseProtocolVersion('10.12')).toEqual({ major: 10, minor: 12 });
    for (const bad of ['', '1', '1.', '.1', '1.2.3', '01.2', '1.02', 'v1.2', ' 1.2', '1.2 ', '-1.2', '1.x', '1234567.0']) {
      expect(parseProtocolVersion(bad)).toBeNull();
    }
    expect(formatProtocolVersion(v('3.14'))).toBe('3.14');
  });

  it('orders by major, then minor', () => {
    expect(compareProtocolVersions(v('1.2'), v('1.2'))).toBe(0);
    expect(compareProtocolVersions(v('1.1'), v('1.2'))).toBeLessThan(0);
    expect(compareProtocolVersions(v('1.10'), v('1.9'))).toBeGreaterThan(0);
    expect(compareProtocolVersions(v('2.0'), v('1.99'))).toBeGreaterThan(0);
  });

  it('serves the same major from one minor behind the coordinator, and newer minors', () => {
    const coordinator = v('1.2');
    expect(isServed(v('1.2'), coordinator)).toBe(true);
    expect(isServed(v('1.1'), coordinator)).toBe(true);
    expect(isServed(v('1.3'), coordinator)).toBe(true);
    expect(isServed(v('1.0'), coordinator)).toBe(false);
    expect(isServed(v('2.2'), coordinator)).toBe(false);
    expect(isServed(v('0.2'), coordinator)).toBe(false);
    expect(isServed(v('2.0'), v('2.0'))).toBe(true);
    expect(isServed(v('1.9'), v('2.0'))).toBe(false);
  });

  it('names the versions a coordinator serves', () => {
    expect(servedVersions(v('1.2'))).toBe('1.2 and 1.1');
    expect(servedVersions(v('2.0'))).toBe('2.0');
  });
});
