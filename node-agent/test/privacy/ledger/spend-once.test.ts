import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { PrivacyLedger } from '../../../src/privacy/ledger/index.js';

describe('spendOnce: one charge per idempotency key, decided under the ledger lock', () => {
  const dirs: string[] = [];
  afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });
  async function ledger(budget = { epsilon: 5, delta: 1e-5 }) {
    const stateDir = await mkdtemp(join(tmpdir(), 'medfed-spend-once-'));
    dirs.push(stateDir);
    const l = new PrivacyLedger({ stateDir, dataset: 'cohort' });
    await l.setBudget(budget);
    return l;
  }

  it('charges the first time and returns the same entry and figures on every replay, even after later charges', async () => {
    const l = await ledger();
    const first = await l.spendOnce({ id: 'training:j:1:0:abc', purpose: 'training j round 1', epsilon: 1 });
    expect(first).toMatchObject({ charged: true, spentBefore: { epsilon: 0 }, spentWith: { epsilon: 1 } });
    await l.spend({ purpose: 'statistics', epsilon: 0.5 });
    const replay = await l.spendOnce({ id: 'training:j:1:0:abc', purpose: 'training j round 1', epsilon: 1 });
    expect(replay).toEqual({ ...first, charged: false });
    expect((await l.read()).spent.epsilon).toBeCloseTo(1.5, 12);
  });

  it('charges concurrent requests with one id exactly once', async () => {
    const l = await ledger();
    const results = await Promise.all(Array.from({ length: 8 }, () => l.spendOnce({ id: 'training:j:2:0:abc', purpose: 'p', epsilon: 0.5 })));
    expect(results.filter((r) => r.charged)).toHaveLength(1);
    expect(new Set(results.map((r) => r.entry.id))).toEqual(new Set(['training:j:2:0:abc']));
    expect((await l.read()).entries).toHaveLength(1);
  });

  it('records nothing for a refused charge, so the same id is refused again', async () => {
    const l = await ledger({ epsilon: 1, delta: 1e-5 });
    await expect(l.spendOnce({ id: 'x', purpose: 'p', epsilon: 2 })).rejects.toMatchObject({ code: 'PRIVACY_BUDGET_EXCEEDED' });
    await expect(l.spendOnce({ id: 'x', purpose: 'p', epsilon: 2 })).rejects.toMatchObject({ code: 'PRIVACY_BUDGET_EXCEEDED' });
    expect((await l.read()).entries).toHaveLength(0);
    await expect(l.spendOnce({ id: '', purpose: 'p', epsilon: 0.1 })).rejects.toMatchObject({ code: 'PRIVACY_INVALID_PARAMETER' });
  });
});
