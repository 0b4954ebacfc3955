import { describe, expect, it } from '@jest/globals';
import type { JobSpec } from '@medfed/proto';
import {
  codeOfDetail, deriveWaiting, OFFLINE_AFTER_MS, summarizeWaiting, waitingOfSite, waitingView, type WaitingInputs,
} from '../../src/federation/waiting.js';

/**
 * What a run waits for, derived from rows shaped as the coordinator stores them: site_tasks with the
 * agents' `CODE: message` details, sites' last heartbeats (state, jobId, detail), the job's latest
 * key epoch, the sites' `job.site-approval` reports and a statistics query's publishing step.
 */
const NOW = new Date('2026-03-02T10:00:00.000Z');
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000);
const SITES = ['site-a', 'site-b', 'site-c'];
const spec: JobSpec = {
  name: 'sepsis', features: ['f1', 'f2'], label: 'y', classes: ['n', 'y'], model: { hidden: [], activation: 'relu' },
  training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd', seed: 1 }, rounds: 30, minSites: 2,
  roundDeadlineSeconds: 600, strategy: { name: 'fedavg' }, sites: SITES, standardization: 'none',
};
const beating = (id: string, status: Record<string, unknown> = { state: 'idle', jobId: '', round: 0, detail: '' }) =>
  ({ id, last_seen_at: ago(3), last_status: status });

function inputs(over: Partial<WaitingInputs> = {}): WaitingInputs {
  return {
    now: NOW,
    job: { id: 'job-1', status: 'running', spec, current_round: 3, encrypted: false },
    round: { round: 3, kind: 'train', status: 'collecting', opened_at: ago(120), closed_at: null },
    tasks: [{ site_id: 'site-b', state: 'submitted', detail: null, updated_at: ago(30) }],
    sites: SITES.map((s) => beating(s)),
    keys: null, approvals: [], publishing: null,
    ...over,
  };
}

const summary = (i: WaitingInputs) => summarizeWaiting(deriveWaiting(i));

describe('what a run waits for', () => {
  it('training: the sites that have not uploaded this round, since the round opened', () => {
    const state = deriveWaiting(inputs());
    expect(state.entries).toEqual([
      { site: 'site-a', reason: 'training', since: ago(120), detail: null },
      { site: 'site-c', reason: 'training', since: ago(120), detail: null },
    ]);
    expect(summarizeWaiting(state)).toBe('awaiting updates from site-a, site-c (round 3)');
  });

  it('approval: the site reported the steward\'s refusal (JOB_NOT_APPROVED), from the first refusal on', () => {
    const i = inputs({
      approvals: [
        { site: 'site-b', at: ago(900), approved: false, code: 'JOB_NOT_APPROVED' },
        { site: 'site-a', at: ago(600), approved: false, code: 'JOB_NOT_APPROVED' },
        { site: 'site-a', at: ago(500), approved: false, code: 'JOB_APPROVAL_SPEC_CHANGED' },
      ],
      tasks: [],
    });
    const state = deriveWaiting(i);
    expect(state.entries.find((e) => e.site === 'site-a')).toEqual({ site: 'site-a', reason: 'approval', since: ago(600), detail: 'JOB_APPROVAL_SPEC_CHANGED' });
    expect(summarizeWaiting(state)).toBe('awaiting approval at site-a, site-b; awaiting updates from site-c (round 3)');
  });

  it('approval: the heartbeat says the agent awaits the steward for this job; an approval reported since ends it', () => {
    const awaiting = { state: 'awaiting-approval', jobId: 'job-1', round: 3, detail: 'JOB_NOT_APPROVED: job job-1 is not approved at this site (medfed agent approve)' };
    const i = inputs({ sites: [beating('site-a', awaiting), beating('site-b'), beating('site-c')] });
    expect(deriveWaiting(i).entries[0]).toEqual({ site: 'site-a', reason: 'approval', since: ago(3), detail: 'JOB_NOT_APPROVED' });
    expect(summary(i)).toBe('awaiting approval at site-a; awaiting updates from site-c (round 3)');
    const approved = { ...i, approvals: [{ site: 'site-a', at: ago(1), approved: true, code: null }] };
    expect(summary(approved)).toBe('awaiting updates from site-a, site-c (round 3)');
    // Another job's approval says nothing about this one.
    const other = inputs({ sites: [beating('site-a', { ...awaiting, jobId: 'job-2' }), beating('site-b'), beating('site-c')] });
    expect(summary(other)).toBe('awaiting updates from site-a, site-c (round 3)');
  });

  it('approval: a task failed with an approval code in this round', () => {
    const i = inputs({ tasks: [{ site_id: 'site-c', state: 'failed', detail: 'APPROVAL_STATE_INVALID: approvals.json is not valid', updated_at: ago(40) }] });
    expect(deriveWaiting(i).entries.find((e) => e.site === 'site-c')).toEqual({ site: 'site-c', reason: 'approval', since: ago(40), detail: 'APPROVAL_STATE_INVALID' });
  });

  it('site-list approval and key ceremony: an encrypted job whose epoch is still signing', () => {
    const keys = {
      epoch: 1, status: 'signing' as const, created_at: ago(300), generating_site: 'site-a', signatures: { 'site-b': 'x.y.z' },
      site_list: { job: 'job-1', epoch: 1, sites: SITES.map((siteId) => ({ siteId, keyAgreementJwkThumbprint: 't' })) },
    };
    const unsigned = { state: 'failed', jobId: 'job-1', round: 1, detail: "HE_SITE_LIST_UNSIGNED: job job-1 waits for this site's steward to approve its site list (medfed keys approve)" };
    const i = inputs({
      job: { id: 'job-1', status: 'running', spec, current_round: 1, encrypted: true },
      round: { round: 1, kind: 'train', status: 'open', opened_at: ago(300), closed_at: null }, tasks: [],
      sites: [beating('site-a', unsigned), beating('site-b'), beating('site-c')], keys,
    });
    const state = deriveWaiting(i);
    expect(state.entries).toEqual([
      { site: 'site-a', reason: 'site-list-approval', since: ago(3), detail: 'HE_SITE_LIST_UNSIGNED' },
      { site: 'site-c', reason: 'key-ceremony', since: ago(300), detail: 'sign' },
    ]);
    expect(summarizeWaiting(state)).toBe('awaiting site-list approval at site-a; awaiting key ceremony (epoch 1: signatures from site-c)');
    // The refusal recorded as the site's failed task for the round says the same.
    const recorded = { ...i, sites: SITES.map((s) => beating(s)), tasks: [{ site_id: 'site-a', state: 'failed', detail: unsigned.detail, updated_at: ago(200) }] };
    expect(deriveWaiting(recorded).entries[0]).toEqual({ site: 'site-a', reason: 'site-list-approval', since: ago(200), detail: 'HE_SITE_LIST_UNSIGNED' });
    // Every signature in: the generating site owes the keys.
    const generating = { ...i, sites: SITES.map((s) => beating(s)), keys: { ...keys, status: 'generating' as const, signatures: { 'site-a': 'a', 'site-b': 'b', 'site-c': 'c' } } };
    expect(summary(generating)).toBe('awaiting key ceremony (epoch 1: key generation at site-a)');
  });

  it('offline: no heartbeat for longer than the threshold, named with its last one; never seen: never connected', () => {
    const i = inputs({ sites: [{ ...beating('site-a'), last_seen_at: ago(OFFLINE_AFTER_MS / 1000 + 1) }, beating('site-b'), { id: 'site-c', last_seen_at: null, last_status: null }] });
    expect(deriveWaiting(i).entries.map((e) => [e.site, e.reason, e.since])).toEqual([['site-a', 'offline', ago(31)], ['site-c', 'offline', null]]);
    expect(summary(i)).toBe(`site-a offline since ${ago(31).toISOString()}; site-c never connected`);
    // Just within the threshold: still online, so still training.
    const fresh = inputs({ sites: [{ ...beating('site-a'), last_seen_at: ago(OFFLINE_AFTER_MS / 1000 - 1) }, beating('site-b'), beating('site-c')] });
    expect(summary(fresh)).toBe('awaiting updates from site-a, site-c (round 3)');
  });

  it('data-refused: a site refused this round\'s task; the code is kept, never the message', () => {
    const i = inputs({ tasks: [{ site_id: 'site-a', state: 'failed', detail: 'DATA_SCHEMA_MISMATCH: column lactate holds "Jane Doe"', updated_at: ago(10) }] });
    const state = deriveWaiting(i);
    expect(state.entries[0]).toEqual({ site: 'site-a', reason: 'data-refused', since: ago(10), detail: 'DATA_SCHEMA_MISMATCH' });
    expect(summarizeWaiting(state)).toBe('site-a refused (DATA_SCHEMA_MISMATCH); awaiting updates from site-b, site-c (round 3)');
    expect(JSON.stringify(waitingView(state))).not.toContain('Jane');
  });

  it('evaluation, feature statistics and aggregation phases', () => {
    const withEvaluator: JobSpec = { ...spec, evaluators: ['site-d'] };
    const sites = [...SITES, 'site-d'].map((s) => beating(s));
    const train = inputs({ job: { id: 'job-1', status: 'running', spec: withEvaluator, current_round: 3, encrypted: false }, sites, tasks: [] });
    expect(summary(train)).toBe('awaiting updates from site-a, site-b, site-c (round 3); awaiting evaluations from site-d (round 3)');
    const final = { ...train, round: { round: 31, kind: 'evaluate' as const, status: 'open' as const, opened_at: ago(5), closed_at: null },
      tasks: SITES.map((s) => ({ site_id: s, state: 'submitted', detail: null, updated_at: ago(1) })) };
    expect(summary(final)).toBe('awaiting evaluation of the final model from site-d');
    const stats = inputs({ round: { round: 0, kind: 'stats', status: 'open', opened_at: ago(5), closed_at: null }, tasks: [] });
    expect(summary(stats)).toBe('awaiting feature statistics from site-a, site-b, site-c (round 0)');
    const aggregating = inputs({ round: { round: 3, kind: 'train', status: 'aggregating', opened_at: ago(60), closed_at: null } });
    expect(deriveWaiting(aggregating).entries).toEqual([]);
    expect(summary(aggregating)).toBe('aggregating round 3');
  });

  it('statistics queries: answers, then publication by the publishing site', () => {
    const q = { ...spec, kind: 'statistics' as const, features: [], label: '', rounds: 1 };
    const base = inputs({ job: { id: 'job-s', status: 'running', spec: q, current_round: 0, encrypted: false },
      round: { round: 0, kind: 'stats', status: 'collecting', opened_at: ago(20), closed_at: null } });
    expect(summary(base)).toBe('awaiting answers from site-a, site-c');
    const publishing = { ...base, round: { ...base.round!, status: 'closed' as const, closed_at: ago(4) }, publishing: { site: 'site-a' } };
    expect(deriveWaiting(publishing).entries).toEqual([{ site: 'site-a', reason: 'publishing', since: ago(4), detail: null }]);
    expect(summary(publishing)).toBe('awaiting publication by site-a');
  });

  it('a finished run waits for nothing', () => {
    for (const status of ['completed', 'failed', 'stopped'] as const) {
      const state = deriveWaiting(inputs({ job: { id: 'job-1', status, spec, current_round: 31, encrypted: false } }));
      expect(waitingView(state)).toEqual({ waiting: [], waitingSummary: '' });
    }
  });

  it('a site-bound viewer sees its own site\'s entries only', () => {
    const state = deriveWaiting(inputs({ approvals: [{ site: 'site-c', at: ago(60), approved: false, code: 'JOB_NOT_APPROVED' }] }));
    expect(summarizeWaiting(waitingOfSite(state, 'site-a'))).toBe('awaiting updates from site-a (round 3)');
    expect(summarizeWaiting(waitingOfSite(state, 'site-c'))).toBe('awaiting approval at site-c');
  });

  it('reads only a leading code out of a detail', () => {
    expect(codeOfDetail('JOB_NOT_APPROVED: job x')).toBe('JOB_NOT_APPROVED');
    expect(codeOfDetail('trainer process killed (SIGKILL) during upload')).toBeNull();
    expect(codeOfDetail(null)).toBeNull();
  });
});
