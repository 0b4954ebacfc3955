import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { AUDIT_ACTIONS, AUDIT_DETAIL_FIELDS, chainHash, GENESIS_PREV_HASH, toAuditEvent, type AuditEventInput } from '../../src/audit/index.js';
import { codeOf, sampleInput } from './support.js';

const valid: AuditEventInput = {
  time: '2025-03-01T08:00:00.000Z', actor: 'user:alice@hospital-a', role: 'auditor', site: null, action: 'audit.export',
  resource: 'audit', outcome: 'success', request_id: 'req-1', rule: 'rbac:auditor/audit.export', details: { format: 'bundle-v1' },
};

describe('audit events', () => {
  it('fills every field so that the hashed form is unambiguous', () => {
    const e = toAuditEvent({ actor: 'system:coordinator', role: 'system', action: 'job.complete', resource: 'job:j-1', outcome: 'success', rule: 'system' }, 7);
    expect(e).toMatchObject({ v: 1, seq: 7, site: null, request_id: null, details: {} });
    expect(e.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(Object.keys(e).sort()).toEqual(['action', 'actor', 'details', 'outcome', 'request_id', 'resource', 'role', 'rule', 'seq', 'site', 'time', 'v']);
  });

  it('lists, for every action, only detail keys that have a schema', () => {
    for (const [name, spec] of Object.entries(AUDIT_ACTIONS)) {
      for (const key of spec.details) expect([name, Object.hasOwn(AUDIT_DETAIL_FIELDS, key)]).toEqual([name, true]);
    }
  });

  it.each([
    ['an unknown action', { action: 'patient.read' }, 'AUDIT_ACTION_UNKNOWN'],
    ['a detail key outside the action\'s list', { details: { patient_name: 'Jane Doe' } }, 'AUDIT_DETAIL_NOT_ALLOWED'],
    ['free text in an id detail', { details: { job: 'Jane Doe, born 1970-01-01' } }, 'AUDIT_DETAIL_INVALID'],
    ['a reason that is not a code', { details: { reason: 'patient 123 asked' } }, 'AUDIT_DETAIL_INVALID'],
    ['a nested object as a detail', { details: { format: { x: 1 } } }, 'AUDIT_DETAIL_INVALID'],
    ['details that are an array', { details: ['x'] }, 'AUDIT_DETAIL_INVALID'],
    ['an actor with spaces', { actor: 'Alice Smith' }, 'AUDIT_EVENT_INVALID'],
    ['a missing rule', { rule: undefined }, 'AUDIT_EVENT_INVALID'],
    ['an outcome outside the list', { outcome: 'maybe' }, 'AUDIT_EVENT_INVALID'],
    ['a time without milliseconds', { time: '2025-03-01T08:00:00Z' }, 'AUDIT_EVENT_INVALID'],
    ['a time with an offset', { time: '2025-03-01T09:00:00.000+01:00' }, 'AUDIT_EVENT_INVALID'],
    ['an impossible date', { time: '2025-02-30T08:00:00.000Z' }, 'AUDIT_EVENT_INVALID'],
    ['a resource with spaces', { resource: 'job:a b' }, 'AUDIT_EVENT_INVALID'],
    ['an upper-case site id', { site: 'Site-A' }, 'AUDIT_EVENT_INVALID'],
  ] as const)('refuses %s', (_what, patch, code) => {
    expect(codeOf(() => toAuditEvent({ ...valid, ...(patch as object) } as AuditEventInput, 1))).toBe(code);
  });

  it('accepts every sample event and hashes it deterministically', () => {
    for (let i = 0; i < 8; i++) {
      const a = toAuditEvent(sampleInput(i), i + 1);
      const b = toAuditEvent({ ...sampleInput(i) }, i + 1);
      expect(chainHash(GENESIS_PREV_HASH, a)).toBe(chainHash(GENESIS_PREV_HASH, b));
    }
  });

  it('refuses any identifier detail containing whitespace (no free text can ride along)', () => {
    fc.assert(fc.property(fc.string(), fc.constantFrom(' ', '\t', '\n'), fc.string(), (a, ws, b) => {
      expect(codeOf(() => toAuditEvent({ ...valid, details: { job: `x${a}${ws}${b}` } }, 1))).toBe('AUDIT_DETAIL_INVALID');
    }));
  });
});
