import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { canonicalJson, detailsTextOfEvent, eventOf, eventTextOfEntry, linkEntry, spliceEntryText, toAuditEvent } from '../../src/audit/index.js';
import { sampleInput } from './support.js';

describe('entry text shortcuts', () => {
  it('give exactly what full canonicalisation gives, for any valid event', () => {
    fc.assert(fc.property(fc.nat({ max: 1000 }), fc.string({ maxLength: 20 }).filter((s) => /^[A-Za-z0-9._:-]+$/.test(s)), (i, requestId) => {
      const event = toAuditEvent({ ...sampleInput(i), request_id: requestId }, i + 1);
      const entry = linkEntry('1'.repeat(64), event);
      expect(spliceEntryText(canonicalJson(event), entry.prev_hash, entry.hash)).toBe(canonicalJson(entry));
      expect(eventTextOfEntry(canonicalJson(entry), entry.prev_hash, entry.hash)).toBe(canonicalJson(eventOf(entry)));
      expect(detailsTextOfEvent(canonicalJson(event))).toBe(canonicalJson(event.details));
    }));
  });

  it('decline (null) whenever the member text is not unique, so callers fall back', () => {
    const entry = { a: { hash: 'h'.repeat(4) }, hash: 'h'.repeat(4), prev_hash: 'p', z: 1 };
    expect(eventTextOfEntry(canonicalJson(entry), 'p', 'h'.repeat(4))).toBeNull();
    expect(spliceEntryText('{"action":"x","details":{"a":1,"outcome":"x"},"outcome":"success","request_id":null}', 'p', 'h')).toBeNull();
    expect(spliceEntryText('{"actor":"x"}', 'p', 'h')).toBeNull();
  });
});
