import { describe, it, expect } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { datasetFromRows, loadDataset } from '@medfed/node-agent/data/index';
import { CLINICAL_CLASSES, CLINICAL_FEATURES, generateClinicalDataset } from '../../src/simulate/clinical-dataset.js';
import { toCsv, writeCsv } from '../../src/simulate/csv.js';
import { clinicalJob } from '../../src/simulate/defaults.js';
import { stratifiedSplit } from '../../src/simulate/stratified-split.js';
import { trainCentralized } from '../../src/simulate/train-centralized.js';

describe('generateClinicalDataset', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    expect(generateClinicalDataset(50, 1)).toEqual(generateClinicalDataset(50, 1));
    expect(generateClinicalDataset(50, 1).rows).not.toEqual(generateClinicalDataset(50, 2).rows);
  });

  it('has unique patient ids, plausible numeric features and three reasonably balanced classes', () => {
    const { header, rows } = generateClinicalDataset(3000, 4);
    expect(header).toEqual(['patient_id', ...CLINICAL_FEATURES, 'risk']);
    expect(new Set(rows.map((r) => r[0])).size).toBe(3000);
    const column = (name: string): number[] => rows.map((r) => Number(r[header.indexOf(name)]));
    const within = (name: string, low: number, high: number): void => {
      const values = column(name);
      expect(values.every((v) => Number.isFinite(v) && v >= low && v <= high)).toBe(true);
    };
    within('age', 18, 95);
    within('bmi', 15, 55);
    within('systolic_bp', 85, 220);
    within('glucose', 60, 380);
    within('creatinine', 0.4, 6);
    expect(new Set(column('smoker'))).toEqual(new Set([0, 1]));
    const systolic = column('systolic_bp');
    const diastolic = column('diastolic_bp');
    expect(systolic.every((s, i) => s > diastolic[i]!)).toBe(true);
    for (const risk of CLINICAL_CLASSES) {
      const share = rows.filter((r) => r[r.length - 1] === risk).length / rows.length;
      expect(share).toBeGreaterThan(0.15);
    }
  });

  it('infers as intended: patient_id withheld, every clinical column a feature', () => {
    const { header, rows } = generateClinicalDataset(200, 5);
    const dataset = datasetFromRows(header, rows, { label: 'risk' });
    expect(dataset.columns.filter((c) => c.role === 'feature').map((c) => c.name)).toEqual([...CLINICAL_FEATURES]);
    expect(dataset.columns.find((c) => c.name === 'patient_id')?.kind).toBe('withheld');
  });

  it('needs the hidden layer: the MLP clearly beats both the majority class and a linear model', async () => {
    const { header, rows } = generateClinicalDataset(3000, 6);
    const dataset = datasetFromRows(header, rows, { label: 'risk' });
    const labels = rows.map((r) => r[r.length - 1]!);
    const split = stratifiedSplit(labels, 0.25, 6);
    const majority = Math.max(...CLINICAL_CLASSES.map((c) => split.test.filter((i) => labels[i] === c).length)) / split.test.length;
    const settings = { rounds: 1, training: { localEpochs: 25, batchSize: 32, learningRate: 0.01, optimizer: 'adam' as const, seed: 6 } };
    const mlp = await trainCentralized({ dataset, ...split, trainRows: split.train, testRows: split.test, job: clinicalJob(['a'], 6, { ...settings, model: { hidden: [16], activation: 'relu' } }) });
    const linear = await trainCentralized({ dataset, trainRows: split.train, testRows: split.test, job: clinicalJob(['a'], 6, { ...settings, model: { hidden: [], activation: 'relu' } }) });
    process.stdout.write(`clinical cohort: majority ${(100 * majority).toFixed(1)}%, linear ${(100 * linear.accuracy).toFixed(1)}%, MLP ${(100 * mlp.accuracy).toFixed(1)}%\n`);
    expect(mlp.accuracy).toBeGreaterThan(0.8);
    expect(mlp.accuracy).toBeGreaterThan(majority + 0.3);
    expect(mlp.accuracy).toBeGreaterThan(linear.accuracy + 0.02);
  });
});

describe('toCsv / writeCsv', () => {
  it('quotes only where needed and round-trips through the agent\'s loader', async () => {
    const table = { header: ['note', 'age', 'y'], rows: [['a, "b"', '1', 'x'], ['line\nbreak', '2', 'y'], [' padded', '3', 'x']] };
    expect(toCsv(table)).toBe('note,age,y\n"a, ""b""",1,x\n"line\nbreak",2,y\n" padded",3,x\n');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'medfed-sim-'));
    try {
      const file = path.join(dir, 'cohort.csv');
      const generated = generateClinicalDataset(300, 8);
      await writeCsv(file, generated);
      const loaded = await loadDataset(file, { label: 'risk' });
      const fromMemory = datasetFromRows(generated.header, generated.rows, { label: 'risk' });
      expect(loaded.rowCount).toBe(300);
      expect(JSON.stringify(loaded.columns, (_k, v: unknown) => (v instanceof Float64Array ? Array.from(v) : v))).toBe(
        JSON.stringify(fromMemory.columns, (_k, v: unknown) => (v instanceof Float64Array ? Array.from(v) : v)),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
