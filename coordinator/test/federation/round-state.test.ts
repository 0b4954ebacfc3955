import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { BACKENDS, freshDatabase, type TestDb } from '../support/databases.js';
import { canMove, moveRound, predecessorsOf, ROUND_TRANSITIONS, RoundTransitionError } from '../../src/federation/round-state.js';
import type { RoundStatus } from '../../src/federation/rows.js';

const STATUSES = Object.keys(ROUND_TRANSITIONS) as RoundStatus[];
const LEGAL: [RoundStatus, RoundStatus][] = [
  ['open', 'collecting'], ['open', 'aggregating'], ['open', 'failed'],
  ['collecting', 'aggregating'], ['collecting', 'failed'],
  ['aggregating', 'closed'], ['aggregating', 'collecting'], ['aggregating', 'failed'],
];

describe('the round state machine table', () => {
  it('lists exactly the legal transitions; closed and failed are final', () => {
    const listed = STATUSES.flatMap((from) => ROUND_TRANSITIONS[from].map((to) => `${from}->${to}`)).sort();
    expect(listed).toEqual(LEGAL.map(([a, b]) => `${a}->${b}`).sort());
    expect(ROUND_TRANSITIONS.closed).toEqual([]);
    expect(ROUND_TRANSITIONS.failed).toEqual([]);
    expect(predecessorsOf('closed')).toEqual(['aggregating']);
  });
});

describe.each(BACKENDS)('moveRound on %s', (backend) => {
  let t: TestDb;
  beforeAll(async () => { t = await freshDatabase(backend); });
  afterAll(async () => { await t.drop(); });
  beforeEach(async () => {
    await t.db.query('DELETE FROM jobs');
    await t.db.query(`INSERT INTO jobs (id, name, owner, spec, status, total_rounds) VALUES ('j', 'j', 'o', '{}', 'running', 3)`);
  });
  const put = (status: RoundStatus) => t.db.query(
    `INSERT INTO rounds (job_id, round, kind, status, deadline_at) VALUES ('j', 1, 'train', $1, now() + interval '1 hour')
      ON CONFLICT (job_id, round) DO UPDATE SET status = $1`, [status]);
  const key = { jobId: 'j', round: 1 };

  it('performs every legal transition and records what it sets', async () => {
    for (const [from, to] of LEGAL) {
      await put(from);
      const row = await t.db.transaction((tx) => moveRound(tx, key, to, to === 'failed' ? { failure: 'why' } : {}));
      expect(row.status).toBe(to);
      if (to === 'failed') expect(row.failure).toBe('why');
      if (to === 'closed' || to === 'failed') expect(row.closed_at).not.toBeNull();
    }
  });

  it('refuses every illegal transition and leaves the round as it was', async () => {
    for (const from of STATUSES) {
      for (const to of STATUSES) {
        if (canMove(from, to)) continue;
        await put(from);
        const err = await t.db.transaction((tx) => moveRound(tx, key, to)).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RoundTransitionError);
        expect((err as RoundTransitionError).code).toBe('ROUND_TRANSITION_ILLEGAL');
        const { rows } = await t.db.query<{ status: string }>(`SELECT status FROM rounds WHERE job_id = 'j' AND round = 1`);
        expect(rows[0]!.status).toBe(from);
      }
    }
  });

  it('refuses a move from a status the round has already left (two workers closing the same round)', async () => {
    await put('aggregating');
    await t.db.transaction((tx) => moveRound(tx, key, 'closed', {}, 'aggregating'));
    await expect(t.db.transaction((tx) => moveRound(tx, key, 'closed', {}, 'aggregating'))).rejects.toThrow(/is closed, not aggregating/);
  });
});
