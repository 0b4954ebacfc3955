import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { paramsSha256 } from '@medfed/proto';
import { ROUND_JOURNAL_FORMAT, RoundJournal, type RoundRecord } from '../../src/tasks/round-journal.js';
import { evalReport, trainReport } from '../../src/tasks/round-reports.js';

const model = Float32Array.from([0.1, -0.2, 0.05, 0.3, 0, 0.01]);
const digest = paramsSha256(model);
const key = { job: 'job-digest', round: 2, kind: 'train' as const, epoch: 0, inputSha256: digest };

describe('the model digest in the metrics reports', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('is the journaled digest of the evaluated model in the eval report, and empty in the train report', () => {
    const record: RoundRecord = {
      format: ROUND_JOURNAL_FORMAT, key,
      eval: { loss: 0.6, accuracy: 0.7, numSamples: 40, paramsSha256: digest },
      training: { charge: null, chargeId: 'c', seed: 1 },
      upload: { sha256: 'ab'.repeat(32), byteSize: 24, train: { loss: 0.5, accuracy: 0.8, numSamples: 40 }, updateNorm: null, clipped: false, encrypted: false },
    };
    expect(evalReport('site-a', record, 1, record.eval!).paramsSha256).toBe(digest);
    expect(trainReport('site-a', { ...record, upload: record.upload!, training: record.training! }).paramsSha256).toBe('');
  });

  it('survives the journal, and a record written before digests resends with an empty one', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'medfed-digest-'));
    dirs.push(stateDir);
    const journal = new RoundJournal(stateDir);
    await journal.write({ format: ROUND_JOURNAL_FORMAT, key, eval: { loss: 0.6, accuracy: 0.7, numSamples: 40, paramsSha256: digest } });
    const read = await journal.read(key.job, key.round);
    expect(read.state === 'found' && evalReport('site-a', read.record, 1, read.record.eval!).paramsSha256).toBe(digest);

    // An older agent's record: no digest in its evaluation.
    const { record: path } = journal.paths(key.job, key.round);
    const older = JSON.parse(await readFile(path, 'utf8')) as { eval: Record<string, unknown> };
    delete older.eval.paramsSha256;
    await writeFile(path, JSON.stringify(older));
    const old = await journal.read(key.job, key.round);
    expect(old.state).toBe('found');
    expect(old.state === 'found' && evalReport('site-a', old.record, 1, old.record.eval!).paramsSha256).toBe('');

    // A digest that is not SHA-256 hex makes the record unreadable (the round starts afresh), never a report.
    await writeFile(path, JSON.stringify({ ...older, eval: { ...older.eval, paramsSha256: 'not-a-digest' } }));
    expect(await journal.read(key.job, key.round)).toEqual({ state: 'unreadable', reason: 'its evaluation is malformed' });
  });
});
