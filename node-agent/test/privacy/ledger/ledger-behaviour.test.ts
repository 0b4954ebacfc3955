import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { rdpVectorEpsilon, addRdp, roundRdp } from '../../../src/privacy/accountant/index.js';
import { PrivacyLedger, withFileLock } from '../../../src/privacy/ledger/index.js';
import { PrivacyError } from '../../../src/privacy/errors.js';

const dirs: string[] = [];
async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'medfed-ledger-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (error) {
    return error instanceof PrivacyError ? error.code : `not a PrivacyError: ${String(error)}`;
  }
  return undefined;
}

/** The pid of a process that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

describe('privacy budget ledger', () => {
  it('refuses every spend until a steward sets a budget', async () => {
    const ledger = new PrivacyLedger({ stateDir: await stateDir(), dataset: 'ds' });
    expect(await codeOf(ledger.spend({ epsilon: 0.1, purpose: 'stats' }))).toBe('PRIVACY_BUDGET_NOT_SET');
    expect((await ledger.read()).budget).toBeNull();
  });

  it('composes basic spends by adding epsilon and delta, and shows entries to stewards and auditors', async () => {
    let clock = Date.parse('2025-01-01T00:00:00Z');
    const ledger = new PrivacyLedger({ stateDir: await stateDir(), dataset: 'ds', now: () => new Date((clock += 1000)) });
    await ledger.setBudget({ epsilon: 2, delta: 1e-5 });
    await ledger.spend({ epsilon: 0.5, delta: 1e-6, purpose: 'mean age by ward', job: 'stats-1' });
    await ledger.spend({ epsilon: 0.25, purpose: 'count by sex' });
    const summary = await ledger.read();
    expect(summary.spent).toEqual({ epsilon: 0.75, delta: 1e-6 });
    expect(summary.remaining.epsilon).toBeCloseTo(1.25, 12);
    expect(summary.remaining.delta).toBeCloseTo(9e-6, 18);
    expect(summary.entries.map((e) => [e.at, e.purpose, e.job, e.epsilon, e.accounting])).toEqual([
      ['2025-01-01T00:00:01.000Z', 'mean age by ward', 'stats-1', 0.5, 'basic'],
      ['2025-01-01T00:00:02.000Z', 'count by sex', undefined, 0.25, 'basic'],
    ]);
    // delta is a budget too
    expect(await codeOf(ledger.spend({ epsilon: 0.1, delta: 1e-5, purpose: 'too much delta' }))).toBe('PRIVACY_BUDGET_EXCEEDED');
  });

  it('ten spends of 0.1 fit a budget of 1 (floating-point slack), the eleventh does not', async () => {
    const ledger = new PrivacyLedger({ stateDir: await stateDir(), dataset: 'ds' });
    await ledger.setBudget({ epsilon: 1, delta: 0 });
    for (let i = 0; i < 10; i++) await ledger.spend({ epsilon: 0.1, purpose: `q${i}` });
    expect(await codeOf(ledger.spend({ epsilon: 0.1, purpose: 'q10' }))).toBe('PRIVACY_BUDGET_EXCEEDED');
  });

  it('training spends carry RDP curves that add up, converted once at the largest delta', async () => {
    const ledger = new PrivacyLedger({ stateDir: await stateDir(), dataset: 'ds' });
    await ledger.setBudget({ epsilon: 8, delta: 1e-4 });
    const round = roundRdp({ sampleRate: 0.01, noiseMultiplier: 1.1, steps: 200 });
    await ledger.spend({ rdp: round, delta: 1e-5, purpose: 'training round 1', job: 'job-7' });
    await ledger.spend({ rdp: round, delta: 1e-5, purpose: 'training round 2', job: 'job-7' });
    await ledger.spend({ epsilon: 0.5, purpose: 'stats' });
    const summary = await ledger.read();
    const composed = rdpVectorEpsilon(addRdp(round, round), 1e-5).epsilon;
    expect(summary.spent.epsilon).toBeCloseTo(composed + 0.5, 10);
    expect(summary.spent.delta).toBeCloseTo(1e-5, 15);
    // Keeping the curve is tighter than adding each round's own epsilon.
    const perRound = summary.entries.filter((e) => e.accounting === 'rdp').reduce((s, e) => s + e.epsilon, 0);
    expect(composed).toBeLessThan(perRound);
    // Curves at other orders cannot be mixed in.
    const other = roundRdp({ sampleRate: 0.01, noiseMultiplier: 1.1, steps: 200, orders: [2, 4, 8] });
    expect(await codeOf(ledger.spend({ rdp: other, delta: 1e-5, purpose: 'mismatched' }))).toBe('PRIVACY_RDP_ORDERS_MISMATCH');
    expect((await ledger.read()).entries).toHaveLength(3);
  });

  it.each([
    [{ epsilon: 0, purpose: 'zero' }],
    [{ epsilon: -1, purpose: 'negative' }],
    [{ epsilon: Number.POSITIVE_INFINITY, purpose: 'infinite' }],
    [{ epsilon: 1, delta: 1, purpose: 'delta 1' }],
    [{ epsilon: 1, purpose: '' }],
    [{ rdp: { orders: [2], rdp: [0.1] }, purpose: 'rdp without delta' }],
  ])('refuses malformed spend %j', async (request) => {
    const ledger = new PrivacyLedger({ stateDir: await stateDir(), dataset: 'ds' });
    await ledger.setBudget({ epsilon: 10, delta: 0.5 });
    expect(await codeOf(ledger.spend(request))).toBe('PRIVACY_INVALID_PARAMETER');
  });

  it.each(['../escape', 'a/b', '', '..', 'x'.repeat(129)])('refuses dataset id %j', async (dataset) => {
    const dir = await stateDir();
    expect(await codeOf(Promise.resolve().then(() => new PrivacyLedger({ stateDir: dir, dataset })))).toBe('PRIVACY_LEDGER_INVALID_DATASET');
  });

  it('a damaged ledger file stops all spending (closed), naming the file', async () => {
    const dir = await stateDir();
    const ledger = new PrivacyLedger({ stateDir: dir, dataset: 'ds' });
    await ledger.setBudget({ epsilon: 1, delta: 0 });
    await writeFile(ledger.path, '{"format": "something else"}');
    expect(await codeOf(ledger.spend({ epsilon: 0.1, purpose: 'x' }))).toBe('PRIVACY_LEDGER_CORRUPT');
    await writeFile(ledger.path, 'not json');
    expect(await codeOf(ledger.read())).toBe('PRIVACY_LEDGER_CORRUPT');
  });

  it('a lock left by a dead process is broken; a live fresh lock makes spends wait, then refuse', async () => {
    const dir = await stateDir();
    const ledger = new PrivacyLedger({ stateDir: dir, dataset: 'ds', lockTimeoutMs: 300 });
    await ledger.setBudget({ epsilon: 5, delta: 0 });
    const lockPath = `${ledger.path}.lock`;
    const { hostname } = await import('node:os');
    await writeFile(lockPath, JSON.stringify({ token: 'dead', pid: deadPid(), host: hostname(), at: Date.now() }));
    await ledger.spend({ epsilon: 1, purpose: 'after a crash' });

    // A damaged lock file counts as stale only once it is older than staleLockMs.
    await writeFile(lockPath, 'garbage');
    expect(await codeOf(ledger.spend({ epsilon: 1, purpose: 'blocked' }))).toBe('PRIVACY_LEDGER_LOCKED');
    const old = new Date(Date.now() - 120_000);
    await utimes(lockPath, old, old);
    await ledger.spend({ epsilon: 1, purpose: 'after the stale garbage lock' });

    // A live holder (this process) keeps everyone else out until it releases.
    const order: string[] = [];
    await withFileLock(lockPath, async () => {
      expect(await codeOf(ledger.spend({ epsilon: 1, purpose: 'while locked' }))).toBe('PRIVACY_LEDGER_LOCKED');
      order.push('held');
    });
    await ledger.spend({ epsilon: 1, purpose: 'after release' });
    expect(order).toEqual(['held']);
    expect((await ledger.read()).entries.map((e) => e.purpose)).toEqual(['after a crash', 'after the stale garbage lock', 'after release']);
  });

  it('persists as JSON a person can read, in <stateDir>/privacy-ledger/<dataset>.json', async () => {
    const dir = await stateDir();
    const ledger = new PrivacyLedger({ stateDir: dir, dataset: 'icu-2024' });
    await ledger.setBudget({ epsilon: 1, delta: 0 });
    await ledger.spend({ epsilon: 0.2, purpose: 'count' });
    expect(ledger.path).toBe(join(dir, 'privacy-ledger', 'icu-2024.json'));
    const file = JSON.parse(await readFile(ledger.path, 'utf8'));
    expect(file).toMatchObject({ format: 'medfed-privacy-ledger/v1', dataset: 'icu-2024', budget: { epsilon: 1, delta: 0 } });
  });
});
