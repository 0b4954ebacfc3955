import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateClinicalDataset, writeCsv } from '../../cli/src/simulate/index.js';
import { runCli } from '../support/cli.js';

interface SimulateJson {
  encrypted: boolean;
  strategy: { name: string; parameters: Record<string, number> };
  rounds: { round: number; accuracy: number; params_sha256: string | null }[];
}

/**
 * The same federation twice through the real path (coordinator, agent processes, gRPC over TLS):
 * once encrypted, where every site decrypts the sums and applies FedAdam's server step itself, and
 * once with --plaintext, where the coordinator applies it. The models must be the same bits every round.
 */
describe('encrypted and plaintext runners of one strategy', () => {
  let dir: string;
  let cohort: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'medfed-twins-'));
    cohort = join(dir, 'cohort.csv');
    await writeCsv(cohort, generateClinicalDataset(1500, 5));
  });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  const simulate = async (plaintext: boolean): Promise<SimulateJson> => {
    const run = await runCli(['simulate', '--data', cohort, '--label', 'risk', '--sites', '3', '--partition', 'dirichlet:0.3',
      '--rounds', '3', '--seed', '2', '--strategy', 'fedadam', '--server-lr', '0.05', '--no-release', '--json', ...(plaintext ? ['--plaintext'] : [])],
    { timeoutMs: 240_000 });
    expect(run.code).toBe(0);
    return JSON.parse(run.stdout.trim()) as SimulateJson;
  };

  it('fedadam: every round\'s model digest is identical between the encrypted run and its --plaintext twin', async () => {
    const encrypted = await simulate(false);
    const plaintext = await simulate(true);
    expect(encrypted.encrypted).toBe(true);
    expect(plaintext.encrypted).toBe(false);
    expect(encrypted.strategy).toEqual({ name: 'fedadam', parameters: { serverLearningRate: 0.05, beta1: 0.9, beta2: 0.99, tau: 1e-9 } });
    const digests = (r: SimulateJson) => r.rounds.map((x) => x.params_sha256);
    expect(digests(encrypted)).toHaveLength(3);
    for (const d of digests(encrypted)) expect(d).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(digests(encrypted)).size).toBe(3);
    expect(digests(plaintext)).toEqual(digests(encrypted));
    expect(plaintext.rounds.map((r) => r.accuracy)).toEqual(encrypted.rounds.map((r) => r.accuracy));
  }, 600_000);
});
