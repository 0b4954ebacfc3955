import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { PrivacyLedger } from '../../../src/privacy/ledger/index.js';
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

async function spendConcurrently(ledgers: readonly PrivacyLedger[], requests: number, epsilon = 1) {
  const results = await Promise.allSettled(
    Array.from({ length: requests }, (_, i) => (ledgers[i % ledgers.length] as PrivacyLedger).spend({ epsilon, purpose: `request ${i}`, job: `job-${i}` })),
  );
  const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  for (const r of refused) {
    expect(r.reason).toBeInstanceOf(PrivacyError);
    expect((r.reason as PrivacyError).code).toBe('PRIVACY_BUDGET_EXCEEDED');
  }
  return { ok: results.length - refused.length, refused };
}

function runChild(dir: string, dataset: string, requests: number): { started: Promise<void>; go: () => void; done: Promise<{ ok: number; refused: number; unexpected: string[] }> } {
  const child = spawn(process.execPath, [join(import.meta.dirname, '../support/ledger-child.mjs'), dir, dataset, String(requests), '1'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ ok: number; refused: number; unexpected: string[] }>((resolve, reject) => {
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited ${code}: ${err}`))));
  });
  return { started: Promise.resolve(), go: () => child.stdin.end('go\n'), done };
}

describe('privacy budget ledger: concurrent spends never overspend', () => {
  it('budget 10, 100 concurrent requests of epsilon 1: exactly 10 succeed', async () => {
    const ledger = new PrivacyLedger({ stateDir: await stateDir(), dataset: 'cohort-a' });
    await ledger.setBudget({ epsilon: 10, delta: 1e-5 });
    const { ok, refused } = await spendConcurrently([ledger], 100);
    expect(ok).toBe(10);
    expect(refused).toHaveLength(90);
    const summary = await ledger.read();
    expect(summary.spent.epsilon).toBe(10);
    expect(summary.remaining.epsilon).toBe(0);
    expect(summary.entries).toHaveLength(10);
    // The refusal names what remains.
    expect((refused[0]?.reason as Error).message).toMatch(/only epsilon 0 and delta 0.00001 remain of the budget \(epsilon 10, delta 0.00001\)/);
    expect((refused[0]?.reason as PrivacyError).details).toMatchObject({ remaining: { epsilon: 0, delta: 1e-5 } });
  });

  it('continues across a restart: 5 spent before, then a new instance over the same file admits exactly 5 of 100', async () => {
    const dir = await stateDir();
    const before = new PrivacyLedger({ stateDir: dir, dataset: 'cohort-b' });
    await before.setBudget({ epsilon: 10, delta: 0 });
    expect((await spendConcurrently([before], 5)).ok).toBe(5);
    const after = new PrivacyLedger({ stateDir: dir, dataset: 'cohort-b' });
    expect((await after.read()).spent.epsilon).toBe(5);
    expect((await spendConcurrently([after], 100)).ok).toBe(5);
    expect((await new PrivacyLedger({ stateDir: dir, dataset: 'cohort-b' }).read()).entries).toHaveLength(10);
  });

  it('instances racing on the lock file alone (no in-process queue) admit exactly 10', async () => {
    const dir = await stateDir();
    const ledgers = Array.from({ length: 4 }, () => new PrivacyLedger({ stateDir: dir, dataset: 'cohort-c', inProcessQueue: false }));
    await (ledgers[0] as PrivacyLedger).setBudget({ epsilon: 10, delta: 0 });
    expect((await spendConcurrently(ledgers, 100)).ok).toBe(10);
    expect((await (ledgers[1] as PrivacyLedger).read()).entries).toHaveLength(10);
  });

  it('two processes racing on the same file admit exactly 10 between them', async () => {
    const dir = await stateDir();
    await new PrivacyLedger({ stateDir: dir, dataset: 'cohort-d' }).setBudget({ epsilon: 10, delta: 0 });
    const children = [runChild(dir, 'cohort-d', 50), runChild(dir, 'cohort-d', 50)];
    // Give both processes time to load before they are released together.
    await new Promise((r) => setTimeout(r, 1000));
    for (const c of children) c.go();
    const [a, b] = await Promise.all(children.map((c) => c.done));
    expect(a?.unexpected).toEqual([]);
    expect(b?.unexpected).toEqual([]);
    expect((a?.ok ?? 0) + (b?.ok ?? 0)).toBe(10);
    expect((a?.refused ?? 0) + (b?.refused ?? 0)).toBe(90);
    const summary = await new PrivacyLedger({ stateDir: dir, dataset: 'cohort-d' }).read();
    expect(summary.entries).toHaveLength(10);
    expect(summary.spent.epsilon).toBe(10);
  }, 120_000);

  it('leaves only the ledger file, mode 0600, and no lock or temp files', async () => {
    const dir = await stateDir();
    const ledger = new PrivacyLedger({ stateDir: dir, dataset: 'cohort-e' });
    await ledger.setBudget({ epsilon: 3, delta: 0 });
    await spendConcurrently([ledger], 10);
    expect(await readdir(join(dir, 'privacy-ledger'))).toEqual(['cohort-e.json']);
    expect((await stat(ledger.path)).mode & 0o777).toBe(0o600);
  });
});
