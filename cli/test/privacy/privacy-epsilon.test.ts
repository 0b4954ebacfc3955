import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { computeEpsilon, PrivacyLedger } from '@medfed/node-agent/privacy/index';
import { runBudget, runEpsilon, type EpsilonCliOptions } from '../../src/commands/privacy.js';
import { ExitCode } from '../../src/exit-codes.js';
import { runCli } from './support/run-cli.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) }, out: () => out.join(''), err: () => err.join('') };
}

const valid: EpsilonCliOptions = { sampleRate: '0.0025', noiseMultiplier: '1.3', steps: '6000', delta: '1e-5' };

describe('medfed privacy epsilon (in process)', () => {
  it("prints the accountant's epsilon and best order", () => {
    const c = capture();
    expect(runEpsilon(valid, c.io)).toBe(ExitCode.OK);
    const expected = computeEpsilon({ sampleRate: 0.0025, noiseMultiplier: 1.3, steps: 6000, delta: 1e-5 });
    expect(c.out()).toContain(`epsilon = ${Number(expected.epsilon.toPrecision(6))} at delta = 0.00001 (best RDP order ${expected.order};`);
    expect(c.err()).toBe('');
  });

  it('--json prints exactly {"epsilon": x, "order": a}', () => {
    const c = capture();
    expect(runEpsilon({ ...valid, json: true }, c.io)).toBe(ExitCode.OK);
    const parsed = JSON.parse(c.out()) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['epsilon', 'order']);
    const expected = computeEpsilon({ sampleRate: 0.0025, noiseMultiplier: 1.3, steps: 6000, delta: 1e-5 });
    expect(parsed).toEqual({ epsilon: expected.epsilon, order: expected.order });
    expect(c.out()).toBe(`{"epsilon": ${expected.epsilon}, "order": ${expected.order}}\n`);
  });

  it.each([
    [{ sampleRate: 'abc' }, '--sample-rate must be a number in (0, 1]; got "abc"'],
    [{ sampleRate: '1.5' }, '--sample-rate must be a number in (0, 1]; got "1.5"'],
    [{ sampleRate: '0' }, '--sample-rate must be a number in (0, 1]'],
    [{ noiseMultiplier: '-1' }, '--noise-multiplier must be a number > 0; got "-1"'],
    [{ noiseMultiplier: 'Infinity' }, '--noise-multiplier must be a number > 0'],
    [{ steps: '10.5' }, '--steps must be a positive integer; got "10.5"'],
    [{ steps: '' }, '--steps must be a positive integer'],
    [{ delta: '1' }, '--delta must be a number in (0, 1); got "1"'],
    [{ delta: '1e' }, '--delta must be a number in (0, 1); got "1e"'],
    [{ delta: '0x10' }, '--delta must be a number in (0, 1)'],
  ])('invalid %j: a clear message and the usage exit code', (override, message) => {
    const c = capture();
    expect(runEpsilon({ ...valid, ...override }, c.io)).toBe(ExitCode.USAGE);
    expect(c.err()).toContain(message);
    expect(c.err()).toContain('usage: medfed privacy epsilon');
    expect(c.out()).toBe('');
  });
});

describe('medfed privacy epsilon (as a process)', () => {
  it('exit 0 and exactly the JSON object on stdout', async () => {
    const run = await runCli(['privacy', 'epsilon', '--sample-rate', '0.04', '--noise-multiplier', '1.5', '--steps', '2250', '--delta', '1e-5', '--json']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^\{"epsilon": [0-9.e+-]+, "order": [0-9.]+\}\n$/);
    // Opacus accountants_test.py test_rdp_accountant publishes 7.32911117143 for these settings.
    expect(Math.abs((JSON.parse(run.stdout) as { epsilon: number }).epsilon / 7.32911117143 - 1)).toBeLessThan(0.01);
  }, 120_000);

  it('invalid numbers and missing options exit with the usage code; --help exits 0', async () => {
    const [bad, missing, help] = await Promise.all([
      runCli(['privacy', 'epsilon', '--sample-rate', 'lots', '--noise-multiplier', '1', '--steps', '10', '--delta', '1e-5']),
      runCli(['privacy', 'epsilon', '--sample-rate', '0.1', '--steps', '10', '--delta', '1e-5']),
      runCli(['privacy', 'epsilon', '--help']),
    ]);
    expect(bad.code).toBe(ExitCode.USAGE);
    expect(bad.stderr).toContain('--sample-rate must be a number in (0, 1]; got "lots"');
    expect(missing.code).toBe(ExitCode.USAGE);
    expect(missing.stderr).toContain('--noise-multiplier');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--sample-rate <q>');
    expect(help.stdout).toContain('Example:');
  }, 120_000);
});

describe('medfed privacy budget', () => {
  it('a steward sets the budget; stewards and auditors read budget, spent, remaining and releases', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'medfed-budget-'));
    try {
      const set = capture();
      expect(await runBudget({ dataset: 'icu', stateDir: dir, epsilon: '4', delta: '1e-6' }, set.io)).toBe(ExitCode.OK);
      expect(set.out()).toContain('budget:    epsilon 4, delta 0.000001');
      await new PrivacyLedger({ stateDir: dir, dataset: 'icu' }).spend({ epsilon: 1.5, purpose: 'mean age', job: 'stats-1' });
      const read = capture();
      expect(await runBudget({ dataset: 'icu', stateDir: dir, json: true }, read.io)).toBe(ExitCode.OK);
      expect(JSON.parse(read.out())).toMatchObject({ dataset: 'icu', budget: { epsilon: 4, delta: 1e-6 }, spent: { epsilon: 1.5 }, remaining: { epsilon: 2.5 }, entries: [{ purpose: 'mean age', job: 'stats-1' }] });
      const bad = capture();
      expect(await runBudget({ dataset: '../x', stateDir: dir }, bad.io)).toBe(ExitCode.USAGE);
      expect(bad.err()).toContain('PRIVACY_LEDGER_INVALID_DATASET');
      expect(await runBudget({ dataset: 'icu', stateDir: dir, epsilon: '3' }, capture().io)).toBe(ExitCode.USAGE);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
