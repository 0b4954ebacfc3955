import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AuditEventInput } from '@medfed/proto/audit/index';
import { freshDatabase, type TestDb } from '../support/databases.js';
import { AuditWriter, RequestEvents, runInRequestScope } from '../../src/audit/index.js';

const decision = (requestId: string, outcome: 'success' | 'denied' = 'success'): AuditEventInput => ({
  actor: 'user:alice', role: 'admin', site: null, action: 'api.access', resource: 'api:jobs.create', outcome,
  request_id: requestId, rule: 'policy:v1/jobs.create', details: { method: 'POST', route: '/v1/jobs' },
});
const action = (over: Partial<AuditEventInput> = {}): AuditEventInput => ({
  actor: 'user:alice', role: 'admin', action: 'job.stop', resource: 'job:j-1', outcome: 'success', rule: 'federation:lifecycle', details: { job: 'j-1' }, ...over,
});

interface Row { action: string; outcome: string; rule: string; request_id: string | null; details: Record<string, unknown> }

describe('one audit event per request', () => {
  let t: TestDb;
  let writer: AuditWriter;
  let events: RequestEvents;
  beforeAll(async () => {
    t = await freshDatabase('pglite');
    writer = new AuditWriter(t.db);
    events = new RequestEvents(t.db, writer);
  }, 180_000);
  afterAll(async () => { await t.drop(); });

  const of = async (id: string): Promise<Row[]> => (await t.db.query<{ event: string }>('SELECT event FROM audit_events ORDER BY seq')).rows
    .map((r) => JSON.parse(r.event) as Row).filter((e) => e.request_id === id);

  it('assigns request ids: the caller\'s when well-formed and not in use, else a fresh one', () => {
    expect(events.requestId('abc-1')).toBe('abc-1');
    expect(events.requestId('has space')).toMatch(/^[0-9a-f-]{36}$/);
    const live = events.open('taken');
    expect(events.requestId('taken')).not.toBe('taken');
    events.close(live);
    expect(events.requestId('taken')).toBe('taken');
  });

  it('writes the held-back allow decision when the action records nothing, with the outcome', async () => {
    const ok = events.open('r-read');
    expect(events.claimDecision('r-read', 'allow', decision('r-read'))).toBe(true);
    expect(await of('r-read')).toEqual([]); // held back until the request ends
    await events.settle(ok, { ok: true, status: 200, code: null });
    const failed = events.open('r-fail');
    events.claimDecision('r-fail', 'allow', decision('r-fail'));
    await events.settle(failed, { ok: false, status: 409, code: 'SITE_EXISTS' });
    expect((await of('r-read')).map((e) => [e.action, e.outcome, e.details.status])).toEqual([['api.access', 'success', 200]]);
    expect((await of('r-fail')).map((e) => [e.action, e.outcome, e.details.reason])).toEqual([['api.access', 'failure', 'SITE_EXISTS']]);
  });

  it('lets the action\'s own event stand for the request, tagged with its id and rule; system events stay apart', async () => {
    const scope = events.open('r-act');
    events.claimDecision('r-act', 'allow', decision('r-act'));
    const recorder = events.recorder();
    await runInRequestScope(scope, async () => {
      await recorder.append(action());
      await recorder.append(action({ actor: 'coordinator', role: 'system', action: 'round.close', resource: 'job:j-1/round:1', details: { job: 'j-1', round: 1 } }));
    });
    await events.settle(scope, { ok: true, status: 200, code: null });
    expect((await of('r-act')).map((e) => [e.action, e.rule])).toEqual([['job.stop', 'policy:v1/jobs.create']]);
  });

  it('counts an event written in the action\'s transaction only if that transaction committed', async () => {
    const recorder = events.recorder();
    const rolledBack = events.open('r-rollback');
    events.claimDecision('r-rollback', 'allow', decision('r-rollback'));
    await runInRequestScope(rolledBack, () => t.db.transaction(async (tx) => {
      await recorder.inTransaction(tx, action());
      throw new Error('the action failed after recording');
    })).catch(() => {});
    await events.settle(rolledBack, { ok: false, status: 500, code: 'INTERNAL' });
    expect((await of('r-rollback')).map((e) => [e.action, e.outcome])).toEqual([['api.access', 'failure']]);

    const committed = events.open('r-commit');
    events.claimDecision('r-commit', 'allow', decision('r-commit'));
    await runInRequestScope(committed, () => t.db.transaction((tx) => recorder.inTransaction(tx, action())));
    await events.settle(committed, { ok: false, status: 500, code: 'INTERNAL' }); // failed after the commit
    expect((await of('r-commit')).map((e) => [e.action, e.outcome])).toEqual([['job.stop', 'success']]);
  });

  it('writes a refusal at once, answers only once it is durable, and fails closed when it cannot write', async () => {
    const denied = events.open('r-deny');
    events.claimDecision('r-deny', 'deny', decision('r-deny', 'denied'));
    await events.settle(denied, { ok: false, status: 403, code: 'AUTH_ROLE_FORBIDDEN' });
    expect((await of('r-deny')).map((e) => e.outcome)).toEqual(['denied']);
    expect(events.claimDecision('unknown', 'allow', decision('unknown'))).toBe(false);

    const closedWriter = new AuditWriter(t.db);
    await closedWriter.close();
    const broken = new RequestEvents(t.db, closedWriter);
    const scope = broken.open('r-broken');
    broken.claimDecision('r-broken', 'allow', decision('r-broken'));
    await expect(broken.settle(scope, { ok: true, status: 200, code: null })).rejects.toMatchObject({ code: 'AUDIT_WRITER_CLOSED' });
    expect(await of('r-broken')).toEqual([]);
  });
});
