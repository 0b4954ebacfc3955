import {
  canonicalJson, GENESIS_PREV_HASH, linkEntry, toAuditEvent,
  type AuditEntry, type AuditEventInput,
} from '../../src/audit/index.js';

/** The code of the error `fn` throws (undefined when it does not throw). */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code ?? 'NO_CODE';
  }
  return undefined;
}

export const BASE_TIME = Date.parse('2025-03-01T08:00:00.000Z');

/** A varied, valid event for position i (deterministic). */
export function sampleInput(i: number): AuditEventInput {
  const kinds: AuditEventInput[] = [
    { actor: 'user:alice@hospital-a', role: 'researcher', site: null, action: 'job.create', resource: 'job:j-1', outcome: 'success', rule: 'rbac:researcher/job.create', details: { job: 'j-1', rounds: 5, sites: ['site-a', 'site-b'] } },
    { actor: 'site:site-a', role: 'site', site: 'site-a', action: 'submission.receive', resource: 'job:j-1/round:1', outcome: 'success', rule: 'policy:enrolled-site', details: { job: 'j-1', round: 1, sha256: 'ab'.repeat(32), bytes: 4096 } },
    { actor: 'user:mallory@example', role: 'researcher', site: null, action: 'model.download', resource: 'model:m-1', outcome: 'denied', rule: 'rbac:release-required', details: { model: 'm-1', reason: 'MODEL_NOT_RELEASED' } },
    { actor: 'system:coordinator', role: 'system', site: 'site-b', action: 'privacy.spend', resource: 'job:j-1/round:1', outcome: 'success', rule: 'dp:budget', details: { job: 'j-1', epsilon: 0.5, delta: 1e-6, epsilon_remaining: 2.5 } },
  ];
  const base = kinds[i % kinds.length]!;
  return { ...base, time: new Date(BASE_TIME + i * 1000).toISOString(), request_id: `req-${i}` };
}

export function makeChain(n: number, start = 1, prev = GENESIS_PREV_HASH): AuditEntry[] {
  const out: AuditEntry[] = [];
  for (let i = 0; i < n; i++) {
    const entry = linkEntry(prev, toAuditEvent(sampleInput(start + i), start + i));
    out.push(entry);
    prev = entry.hash;
  }
  return out;
}

export const lineOf = (entry: object) => canonicalJson(entry);
